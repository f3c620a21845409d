import { applyDecorators, HttpException, HttpStatus, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '@odtp/auth';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import type { Response } from 'express';
import { ErrorBodyDto } from './error-body.dto';

const HEAVY = 'odtp:heavy';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A read that costs the database real work (plans, counts, queries, findings): limited per key like writes. */
export const Heavy = (): MethodDecorator =>
  applyDecorators(
    SetMetadata(HEAVY, true),
    ApiTooManyRequestsResponse({
      type: ErrorBodyDto,
      description:
        'more than HEAVY_RATE_LIMIT_PER_MINUTE heavy reads in a minute with this key (Retry-After says when)',
    }),
  );

/**
 * Rate limits per API key, after authentication (so a client without a key, or another key, can never use up an
 * admin's budget): mutating calls RATE_LIMIT_PER_MINUTE, heavy reads HEAVY_RATE_LIMIT_PER_MINUTE, other reads
 * unlimited. Fixed one-minute windows; 429 with Retry-After past the limit. Heavy reads are also bounded in
 * concurrency: at most HEAVY_CONCURRENCY_PER_KEY of one key run at once (429 for the next one), so a key cannot
 * queue the database's work ahead of everyone else's (and of /health).
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly windows = new Map<string, { n: number; until: number }>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const heavy = this.reflector.getAllAndOverride<boolean>(HEAVY, [
      context.getHandler(),
      context.getClass(),
    ]);
    const kind = MUTATING.has(req.method) ? 'write' : heavy ? 'heavy' : undefined;
    if (!kind) return true;
    const limit = kind === 'write' ? this.config.rateLimitPerMinute : this.config.heavyRateLimitPerMinute;
    const who = req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip ?? 'unknown'}`;
    const now = Date.now();
    if (this.windows.size > 10_000)
      for (const [k, w] of this.windows) if (w.until <= now) this.windows.delete(k);
    const key = `${who}|${kind}`;
    let w = this.windows.get(key);
    if (!w || w.until <= now) this.windows.set(key, (w = { n: 0, until: now + 60_000 }));
    if (++w.n <= limit) return kind === 'heavy' ? this.enter(who, context) : true;
    const retry = Math.ceil((w.until - now) / 1000);
    context.switchToHttp().getResponse<Response>().setHeader('retry-after', String(retry));
    throw new HttpException(
      `Too many ${kind === 'write' ? 'mutating calls' : 'heavy reads'} for this API key: at most ${limit} per minute (retry in ${retry} s)`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }

  /** Count a heavy read in flight for `who` until its response is over; refuse one past the bound. */
  private enter(who: string, context: ExecutionContext): boolean {
    const running = this.inFlight.get(who) ?? 0;
    const max = this.config.heavyConcurrencyPerKey;
    if (running >= max) {
      context.switchToHttp().getResponse<Response>().setHeader('retry-after', '1');
      throw new HttpException(
        `Too many heavy reads in flight for this API key: at most ${max} at once (HEAVY_CONCURRENCY_PER_KEY); retry when one has answered`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.inFlight.set(who, running + 1);
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      const n = (this.inFlight.get(who) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(who);
      else this.inFlight.set(who, n);
    };
    const res = context.switchToHttp().getResponse<Response>();
    res.once('finish', leave);
    res.once('close', leave);
    return true;
  }
}
