import { Injectable } from '@nestjs/common';
import type { NestMiddleware } from '@nestjs/common';
import type { AuthenticatedRequest } from '@odtp/auth';
import type { NextFunction, Response } from 'express';
import { AdminLogService, summarizeBody } from '../admin-log/admin-log.service';
import { MetricsService } from '../metrics/metrics.service';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Refusals of a key's call: not recorded (a key could write the log without bound), counted in a metric. */
const REFUSED = new Set([401, 403, 429]);
const MAX_PARAMS = 10;
const MAX_PARAM = 200;

/** Path parameters as stored: at most 10, names and values cut to 64 and 200 characters. */
export function summarizeParams(params: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!params || typeof params !== 'object') return out;
  for (const [k, v] of Object.entries(params as Record<string, unknown>).slice(0, MAX_PARAMS)) {
    const value = String(v);
    out[k.slice(0, 64)] = value.length > MAX_PARAM ? `${value.slice(0, MAX_PARAM)}…` : value;
  }
  return out;
}

/**
 * When a response is finished: count and time it (metrics), and record in the admin audit log every mutating call
 * an API key made to a route of the API that was let through (past authentication, role and rate limits), with its
 * outcome. Refused calls (401, 403, 429) and paths that match no route never reach the database: anyone could grow
 * it without bound (they count in odtp_admin_refused_calls_total and odtp_auth_failures_total instead). The stored
 * request id is the server's; the caller's x-request-id is kept apart, cut short.
 */
@Injectable()
export class RequestObserverMiddleware implements NestMiddleware {
  constructor(
    private readonly metrics: MetricsService,
    private readonly adminLog: AdminLogService,
  ) {}

  use(req: AuthenticatedRequest, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      this.metrics.observe(req.method, route, res.statusCode, seconds);
      if (!MUTATING.has(req.method) || !req.principal || route === 'unmatched') return;
      if (REFUSED.has(res.statusCode)) return this.metrics.refusedCall(res.statusCode);
      const ids = req as { id?: unknown; callerRequestId?: unknown };
      this.adminLog.record({
        at: new Date(),
        keyId: req.principal.keyId,
        role: req.principal.role,
        method: req.method,
        route,
        params: summarizeParams(req.params),
        body: summarizeBody(req.body),
        status: res.statusCode,
        durationMs: Math.round(seconds * 1000 * 100) / 100,
        requestId: typeof ids.id === 'string' ? ids.id : null,
        callerRequestId: typeof ids.callerRequestId === 'string' ? ids.callerRequestId.slice(0, 64) : null,
      });
    });
    next();
  }
}
