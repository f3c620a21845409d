import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Optional,
  SetMetadata,
  applyDecorators,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import type { Request } from 'express';
import { verifyKey } from './api-keys';
import type { ApiKeyEntry, Principal, Role } from './api-keys';

export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');
/** Where failed authentications are reported (metrics, a rate-limited log line); never the database. */
export const AUTH_FAILURES = Symbol('AUTH_FAILURES');

export const AUTH_FAILURE_REASONS = ['missing', 'invalid', 'forbidden', 'limited'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];
export type AuthFailureListener = (reason: AuthFailureReason, client: string) => void;
const PUBLIC = 'odtp:public';
const ROLE = 'odtp:role';

export interface AuthSettings {
  /** False only with ADMIN_AUTH=disabled. */
  enabled: boolean;
  keys: readonly ApiKeyEntry[];
  /** Invalid keys a client address may send per minute; beyond, its invalid attempts get 429 (default 20). */
  failureLimitPerMinute?: number;
}

/**
 * Invalid-key attempts per client address in a one-minute window. Past the limit the guard answers 429 to that
 * address's invalid attempts (a valid key still passes: the limit slows guessing without locking out users behind
 * a shared proxy address). Addresses are forgotten when their window ends.
 */
export class FailureWindow {
  private readonly counts = new Map<string, { n: number; until: number }>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Count one failure; true while the address is within its limit. */
  fail(client: string): boolean {
    const t = this.now();
    if (this.counts.size > 10_000) for (const [k, v] of this.counts) if (v.until <= t) this.counts.delete(k);
    let entry = this.counts.get(client);
    if (!entry || entry.until <= t) this.counts.set(client, (entry = { n: 0, until: t + 60_000 }));
    entry.n++;
    return entry.n <= this.limit;
  }
}

/** The OpenAPI extension naming the role an operation needs (`none`, `viewer`, `admin`): the docs' route table. */
export const ROLE_EXTENSION = 'x-odtp-role';

/** No authentication (health checks). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(PUBLIC, true), ApiExtension(ROLE_EXTENSION, 'none'));

/** The role an endpoint needs (default: viewer). */
export const RequireRole = (role: Role): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ROLE, role), ApiExtension(ROLE_EXTENSION, role));

export interface AuthenticatedRequest extends Request {
  principal?: Principal;
}

/**
 * `Authorization: Bearer <key>` on every endpoint not marked @Public: 401 without or with an unknown key,
 * 403 when the key's role is below what the endpoint needs.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly failures: FailureWindow;

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
    @Optional() @Inject(AUTH_FAILURES) private readonly onFailure?: AuthFailureListener,
  ) {
    this.failures = new FailureWindow(settings.failureLimitPerMinute ?? 20);
  }

  private refuse(reason: AuthFailureReason, client: string, error: HttpException): never {
    this.onFailure?.(reason, client);
    throw error;
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const needed = this.reflector.getAllAndOverride<Role>(ROLE, targets) ?? 'viewer';
    if (!this.settings.enabled) {
      request.principal = { keyId: 'auth-disabled', role: 'admin' };
      return true;
    }
    const client = request.ip ?? request.socket?.remoteAddress ?? 'unknown';
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match)
      this.refuse(
        'missing',
        client,
        new UnauthorizedException('Missing credentials: send Authorization: Bearer <API key>'),
      );
    const entry = verifyKey(this.settings.keys, match[1]);
    if (!entry) {
      if (!this.failures.fail(client))
        this.refuse(
          'limited',
          client,
          new HttpException(
            'Too many failed authentications from this address; retry in a minute',
            HttpStatus.TOO_MANY_REQUESTS,
          ),
        );
      this.refuse('invalid', client, new UnauthorizedException('Invalid API key'));
    }
    request.principal = { keyId: entry.id, role: entry.role };
    if (needed === 'admin' && entry.role !== 'admin')
      this.refuse(
        'forbidden',
        client,
        new ForbiddenException(`This endpoint needs the admin role; key "${entry.id}" is a viewer`),
      );
    return true;
  }
}
