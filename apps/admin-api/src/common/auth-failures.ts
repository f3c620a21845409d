import { Logger } from '@nestjs/common';
import type { AuthFailureListener, AuthFailureReason } from '@odtp/auth';
import type { MetricsService } from '../metrics/metrics.service';

/**
 * Refused authentications go to odtp_auth_failures_total{reason} and to at most one warning per minute summing
 * them up (how many, why, from how many addresses): never to the database, and never one log line per request.
 */
export function authFailureListener(
  metrics: MetricsService,
  now: () => number = Date.now,
): AuthFailureListener {
  const logger = new Logger('Auth');
  let windowStart = Number.NEGATIVE_INFINITY; // the first refusal is logged at once
  let counts: Partial<Record<AuthFailureReason, number>> = {};
  let clients = new Set<string>();
  return (reason, client) => {
    metrics.authFailure(reason);
    counts[reason] = (counts[reason] ?? 0) + 1;
    if (clients.size < 10_000) clients.add(client);
    if (now() - windowStart < 60_000) return;
    const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
    logger.warn(
      `${total} refused authentication(s) in the last minute (${Object.entries(counts)
        .map(([r, n]) => `${r}: ${n}`)
        .join(', ')}) from ${clients.size} address(es)`,
    );
    windowStart = now();
    counts = {};
    clients = new Set();
  };
}
