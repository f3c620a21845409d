import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
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
const PUBLIC = 'odtp:public';
const ROLE = 'odtp:role';

export interface AuthSettings {
  /** False only with ADMIN_AUTH=disabled. */
  enabled: boolean;
  keys: readonly ApiKeyEntry[];
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
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const needed = this.reflector.getAllAndOverride<Role>(ROLE, targets) ?? 'viewer';
    if (!this.settings.enabled) {
      request.principal = { keyId: 'auth-disabled', role: 'admin' };
      return true;
    }
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('Missing credentials: send Authorization: Bearer <API key>');
    const entry = verifyKey(this.settings.keys, match[1]);
    if (!entry) throw new UnauthorizedException('Invalid API key');
    request.principal = { keyId: entry.id, role: entry.role };
    if (needed === 'admin' && entry.role !== 'admin')
      throw new ForbiddenException(`This endpoint needs the admin role; key "${entry.id}" is a viewer`);
    return true;
  }
}
