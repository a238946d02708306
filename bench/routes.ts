// The three routes every throughput comparison runs side by side: no middleware, a no-op
// middleware (the noise floor), and the guard under test.
import express, { type RequestHandler } from 'express';

export const ROUTE_BODY = { ok: true, message: 'hello' };

/** An Express app with /plain, /noop and /guarded (behind `guard`), each answering ROUTE_BODY. */
export function threeRouteApp(guard: RequestHandler): express.Express {
  const app = express();
  app.get('/plain', (_req, res) => {
    res.json(ROUTE_BODY);
  });
  app.get(
    '/noop',
    (_req, _res, next) => next(),
    (_req, res) => {
      res.json(ROUTE_BODY);
    },
  );
  app.get('/guarded', guard, (_req, res) => {
    res.json(ROUTE_BODY);
  });
  return app;
}
