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
 * unlimited. Fixed one-minute windows; 429 with Retry-After past the limit.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly windows = new Map<string, { n: number; until: number }>();

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
    if (++w.n <= limit) return true;
    const retry = Math.ceil((w.until - now) / 1000);
    context.switchToHttp().getResponse<Response>().setHeader('retry-after', String(retry));
    throw new HttpException(
      `Too many ${kind === 'write' ? 'mutating calls' : 'heavy reads'} for this API key: at most ${limit} per minute (retry in ${retry} s)`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
