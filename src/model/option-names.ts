/**
 * Option-name lists tied to their option types: the lists reject unknown options at run time, so
 * an option added to an interface but not to its list would be refused as "unknown", and a name
 * left in a list after its option is gone would be accepted and ignored. `optionNames<T>()(names)`
 * makes both a compile error naming the key.
 */
export function optionNames<T>() {
  return <const N extends readonly (keyof T & string)[]>(
    names: N &
      ([Exclude<keyof T, N[number]>] extends [never] ? unknown : { missingOptionNames: Exclude<keyof T, N[number]> }),
  ): N => names;
}
