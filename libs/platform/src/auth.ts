import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata, UnauthorizedException, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Forbidden } from '@herald/domain';
import { AuthDefense } from './auth-defense';
import { HeraldConfig } from './config';
import { timingSafeEqual } from 'node:crypto';
import { hashApiKey } from './crypto';

/** Who is calling (docs/contract.md §2). A project key reaches only its own project. */
export type Principal = { kind: 'admin' } | { kind: 'project'; projectId: number; apiKeyId: string };

/** Looks up a project API key by its hash; implemented by persistence, bound by each app. */
export interface ProjectKeyResolver {
  resolve(keyHash: string): Promise<{ projectId: number; apiKeyId: string } | null>;
}
export const PROJECT_KEY_RESOLVER = Symbol('PROJECT_KEY_RESOLVER');

const PUBLIC = 'herald:public';
/** Health, readiness, metrics and docs answer without credentials; nothing else does. */
export const Public = () => SetMetadata(PUBLIC, true);

const ADMIN_ONLY = 'herald:admin-only';
/**
 * Only the admin token may call this route; a project key gets 403 naming `action` (e.g. "create
 * projects"). Checked by the guard, before pipes run, so an invalid body cannot turn the 403 into
 * a 400 (and the 403 does not depend on whether a project exists).
 */
export const AdminOnly = (action: string) => SetMetadata(ADMIN_ONLY, action);

interface RequestWithPrincipal {
  headers: Record<string, string | string[] | undefined>;
  /** The client's address (Fastify's, after HERALD_TRUSTED_PROXIES). */
  ip: string;
  principal?: Principal;
}

export function bearerToken(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : null;
}

@Injectable()
export class AuthGuard implements CanActivate {
  /** Compared by hash so the comparison takes the same time whatever the token's length. */
  private readonly adminHash: Buffer | null;

  constructor(
    private readonly reflector: Reflector,
    config: HeraldConfig,
    @Inject(PROJECT_KEY_RESOLVER) private readonly keys: ProjectKeyResolver,
    private readonly defense: AuthDefense,
  ) {
    this.adminHash = config.adminToken ? Buffer.from(hashApiKey(config.adminToken), 'hex') : null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedException('missing credentials: send Authorization: Bearer <admin token or project API key>');
    request.principal = await this.authenticate(token, request.ip);
    const adminOnly = this.reflector.getAllAndOverride<string | undefined>(ADMIN_ONLY, [context.getHandler(), context.getClass()]);
    if (adminOnly && request.principal.kind !== 'admin') throw new Forbidden(`a project API key cannot ${adminOnly}; use the admin token`);
    return true;
  }

  /**
   * The admin token, or a project API key. An address that keeps failing gets 429 before any
   * lookup, and a token found to be no key is answered from memory for a while (AuthDefense).
   */
  async authenticate(token: string, address: string): Promise<Principal> {
    const hash = hashApiKey(token);
    if (this.adminHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.adminHash)) return { kind: 'admin' };
    this.defense.assertMayTry(address);
    const found = this.defense.isUnknown('project-key', hash) ? null : await this.keys.resolve(hash);
    if (!found) {
      this.defense.rememberUnknown('project-key', hash);
      this.defense.recordFailure(address);
      throw new UnauthorizedException('invalid credentials: the token is neither the admin token nor a valid project API key');
    }
    return { kind: 'project', projectId: found.projectId, apiKeyId: found.apiKeyId };
  }
}

/** The authenticated caller of the current request. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<RequestWithPrincipal>().principal;
  if (!principal) throw new UnauthorizedException('missing credentials');
  return principal;
});
