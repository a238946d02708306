/**
 * Real TLS-terminating proxies for the forwarded-certificate tests: nginx, HAProxy, Apache httpd and
 * Caddy from the Debian packages (`.ci/run` installs them), each started on 127.0.0.1 with its own
 * configuration in a temporary folder (never a system instance or system configuration), asking the
 * client for a certificate without refusing any, and forwarding it to an upstream app in the header
 * of its format. The configurations are the ones the README's deployment guide shows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export type ProxyKind = 'nginx' | 'haproxy' | 'apache' | 'caddy';

export interface ProxyTls {
  /** The proxy's server certificate (PEM, leaf first) and key: what clients see. */
  serverCert: string;
  serverKey: string;
  /** CA certificates whose names the proxy sends in its certificate request (HAProxy needs a file). */
  clientCa: string;
}

export interface RunningProxy {
  kind: ProxyKind;
  port: number;
  /** What the proxy printed, for a test's failure message. */
  output(): string;
  close(): Promise<void>;
}

const BINARIES: Record<ProxyKind, string> = {
  nginx: '/usr/sbin/nginx',
  haproxy: '/usr/sbin/haproxy',
  apache: '/usr/sbin/apache2',
  caddy: '/usr/bin/caddy',
};

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the proxy to bind). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One upstream port, or several (a fleet of app instances; the proxy balances over them, round robin). */
export type Upstream = number | readonly number[];

const ports = (upstream: Upstream): readonly number[] => (typeof upstream === 'number' ? [upstream] : upstream);

function nginxConfig(dir: string, port: number, upstream: Upstream): string[] {
  const forward = [
    'proxy_pass http://app;',
    // HTTP/1.1 and no `Connection: close`: nginx reuses upstream connections for different clients,
    // as deployments do (`keepalive`), so a verdict tied to the connection would show.
    'proxy_http_version 1.1;',
    'proxy_set_header Connection "";',
    // Overwrites whatever the client sent under that name.
    'proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;',
  ];
  return [
    'daemon off;',
    'master_process off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
    '  upstream app {',
    ...ports(upstream).map((p) => `    server 127.0.0.1:${p};`),
    '    keepalive 4;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port} ssl;`,
    `    ssl_certificate ${dir}/server.pem;`,
    `    ssl_certificate_key ${dir}/server.key;`,
    // Ask for a certificate, verify nothing (certgate does), and hand expired ones on (495).
    '    ssl_verify_client optional_no_ca;',
    '    error_page 495 496 = @app;',
    `    location / { ${forward.join(' ')} }`,
    `    location @app { ${forward.join(' ')} }`,
    '  }',
    '}',
  ];
}

function haproxyConfig(dir: string, port: number, upstream: Upstream): string[] {
  return [
    'global',
    '  maxconn 64',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend clients',
    // verify optional with every error ignored: ask for a certificate, refuse none (certgate decides).
    `  bind 127.0.0.1:${port} ssl crt ${dir}/server-combined.pem verify optional ca-file ${dir}/client-ca.pem ` +
      'ca-ignore-err all crt-ignore-err all',
    '  http-request del-header X-SSL-Client-Cert',
    '  http-request del-header X-SSL-Client-Chain',
    '  http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64] if { ssl_c_used }',
    '  http-request set-header X-SSL-Client-Chain %[ssl_c_chain_der,base64] if { ssl_c_used }',
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
    ...ports(upstream).map((p, i) => `  server app${i} 127.0.0.1:${p}`),
  ];
}

function apacheConfig(dir: string, port: number, upstream: Upstream): string[] {
  const balancer = ['proxy_balancer', 'slotmem_shm', 'lbmethod_byrequests'];
  const modules = ['mpm_event', 'authz_core', 'ssl', 'headers', 'proxy', 'proxy_http', ...balancer];
  return [
    `ServerRoot ${dir}`,
    ...modules.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`),
    `PidFile ${dir}/apache.pid`,
    // mod_slotmem_shm (the balancer's shared memory) keeps its files here.
    `DefaultRuntimeDir ${dir}`,
    `ErrorLog ${dir}/error.log`,
    'LogLevel warn',
    'User nobody',
    'Group nogroup',
    'ServerName localhost',
    `Listen 127.0.0.1:${port}`,
    `<VirtualHost 127.0.0.1:${port}>`,
    '  SSLEngine on',
    `  SSLCertificateFile ${dir}/server.pem`,
    `  SSLCertificateKeyFile ${dir}/server.key`,
    '  SSLVerifyClient optional_no_ca',
    '  SSLOptions +ExportCertData',
    // `set` replaces any header of that name the client sent.
    '  RequestHeader set X-SSL-Client-Cert "%{SSL_CLIENT_CERT}s"',
    '  <Proxy balancer://app>',
    ...ports(upstream).map((p) => `    BalancerMember http://127.0.0.1:${p}`),
    '    ProxySet lbmethod=byrequests',
    '  </Proxy>',
    '  ProxyPass / balancer://app/',
    '</VirtualHost>',
  ];
}

function caddyConfig(dir: string, port: number, upstream: Upstream): string[] {
  const upstreams = ports(upstream)
    .map((p) => `127.0.0.1:${p}`)
    .join(' ');
  return [
    '{',
    '  admin off',
    '  auto_https off',
    `  storage file_system ${dir}/caddy`,
    // With client_auth, Caddy refuses a Host that differs from the SNI (421); clients here send
    // SNI localhost to 127.0.0.1.
    '  servers {',
    '    strict_sni_host insecure_off',
    '  }',
    '}',
    `https://:${port} {`,
    '  bind 127.0.0.1',
    `  tls ${dir}/server.pem ${dir}/server.key {`,
    '    client_auth {',
    '      mode request',
    '    }',
    '  }',
    `  reverse_proxy ${upstreams} {`,
    '    lb_policy round_robin',
    '    header_up X-SSL-Client-Cert {http.request.tls.client.certificate_der_base64}',
    '  }',
    '}',
  ];
}

function command(kind: ProxyKind, dir: string): { args: string[]; env?: NodeJS.ProcessEnv } {
  switch (kind) {
    case 'nginx':
      return { args: ['-p', dir, '-c', join(dir, 'proxy.conf')] };
    case 'haproxy':
      return { args: ['-db', '-f', join(dir, 'proxy.conf')] };
    case 'apache':
      return { args: ['-f', join(dir, 'proxy.conf'), '-DFOREGROUND'], env: { ...process.env, APACHE_LOG_DIR: dir } };
    case 'caddy':
      return {
        args: ['run', '--config', join(dir, 'proxy.conf'), '--adapter', 'caddyfile'],
        env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      };
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`, or rejects after `ms`. */
async function waitForPort(port: number, ms: number, exited: () => string | undefined): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const why = exited();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    }).catch(() => false);
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

/**
 * Starts `kind` on a free port of 127.0.0.1, terminating TLS with `tls` and forwarding every request
 * to http://127.0.0.1:`upstream` with the client's certificate in the header of its format. Several
 * upstream ports: the proxy balances over them, round robin (nginx `upstream`, HAProxy `balance
 * roundrobin`, Apache mod_proxy_balancer `byrequests`, Caddy `lb_policy round_robin`).
 */
export async function startProxy(
  kind: ProxyKind,
  dir: string,
  tls: ProxyTls,
  upstream: Upstream,
): Promise<RunningProxy> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'server.pem'), tls.serverCert);
  writeFileSync(join(dir, 'server.key'), tls.serverKey, { mode: 0o600 });
  writeFileSync(join(dir, 'server-combined.pem'), `${tls.serverCert}\n${tls.serverKey}`, { mode: 0o600 });
  writeFileSync(join(dir, 'client-ca.pem'), tls.clientCa);
  const port = await freePort();
  const configs = { nginx: nginxConfig, haproxy: haproxyConfig, apache: apacheConfig, caddy: caddyConfig };
  writeFileSync(join(dir, 'proxy.conf'), `${configs[kind](dir, port, upstream).join('\n')}\n`);
  const { args, env } = command(kind, dir);
  const child: ChildProcess = spawn(BINARIES[kind], args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d));
  child.stderr?.on('data', (d: Buffer) => (output += d));
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `${kind} exited (${code ?? signal}): ${output}`));
  child.once('error', (err) => (exit = `${kind} did not start: ${err.message}`));
  try {
    await waitForPort(port, 15_000, () => exit);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    kind,
    port,
    output: () => output,
    close: () =>
      new Promise<void>((resolve) => {
        if (exit) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
      }),
  };
}
