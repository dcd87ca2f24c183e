import { Injectable, UnauthorizedException } from '@nestjs/common';
import { Forbidden } from '@herald/domain';
import { ApiKeyRepository, ConnectionRepository, type DevLakeConnectionEntity } from '@herald/persistence';
import { AuthDefense, HeraldConfig, bearerToken, constantTimeEquals, hashApiKey } from '@herald/platform';

/** Who posts to a DevLake route. */
export type IntakeCaller =
  { kind: 'admin' } | { kind: 'basic' } | { kind: 'connection'; connection: DevLakeConnectionEntity } | { kind: 'project'; projectId: number };

/** The two `rest` prefixes take Bearer keys only, as DevLake's `/rest` API-key middleware does. */
export const REST_PREFIX = /^\/(api\/)?rest\//;

/**
 * Credentials of the DevLake routes (docs/contract.md §2, §5.2). Under `/rest` and `/api/rest`: a Bearer key,
 * with DevLake's messages (401 `token is missing`, 401 `token is not present or malformed`, 403
 * `api key is invalid`). Under the other two prefixes Basic auth (`HERALD_BASIC_AUTH`) is accepted
 * too. Never anonymous. The admin token and the owning project's API keys work everywhere, like
 * a DevLake API key with a wide `allowedPath` (docs/decisions.md).
 */
@Injectable()
export class DevLakeAuth {
  private readonly adminHash: string | null;

  constructor(
    private readonly config: HeraldConfig,
    private readonly connections: ConnectionRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly defense: AuthDefense,
  ) {
    this.adminHash = config.adminToken ? hashApiKey(config.adminToken) : null;
  }

  /**
   * `address` is the client's: an address that keeps failing gets 429 before any lookup or
   * password check, and a token found to be no key is answered from memory for a while.
   */
  async authenticate(authorization: string | string[] | undefined, rest: boolean, address: string): Promise<IntakeCaller> {
    const header = Array.isArray(authorization) ? authorization[0] : authorization;
    if (!header || header.trim() === '') {
      throw new UnauthorizedException(
        rest ? 'token is missing' : 'token is missing: send Authorization: Bearer <connection key>, or Basic auth when HERALD_BASIC_AUTH is set',
      );
    }
    if (/^Basic\s/i.test(header) && !rest) return this.basic(header, address);
    const token = bearerToken(header);
    if (!token) throw new UnauthorizedException('token is not present or malformed');
    const hash = hashApiKey(token);
    if (this.adminHash && constantTimeEquals(hash, this.adminHash)) return { kind: 'admin' };
    this.defense.assertMayTry(address);
    if (!this.defense.isUnknown('intake-key', hash)) {
      const connection = await this.connections.findByKeyHash(hash);
      if (connection) return { kind: 'connection', connection };
      const projectKey = await this.apiKeys.resolve(hash);
      if (projectKey) return { kind: 'project', projectId: projectKey.projectId };
      this.defense.rememberUnknown('intake-key', hash);
    }
    this.defense.recordFailure(address);
    throw new Forbidden('api key is invalid');
  }

  private basic(header: string, address: string): IntakeCaller {
    const basic = this.config.basicAuth;
    if (!basic) throw new UnauthorizedException('Basic auth is not enabled (HERALD_BASIC_AUTH is unset): send Authorization: Bearer <connection key>');
    this.defense.assertMayTry(address);
    const decoded = Buffer.from(header.replace(/^Basic\s+/i, '').trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const ok = i > 0 && constantTimeEquals(decoded.slice(0, i), basic.user) && constantTimeEquals(decoded.slice(i + 1), basic.password);
    if (!ok) {
      this.defense.recordFailure(address);
      throw new UnauthorizedException('invalid username or password');
    }
    return { kind: 'basic' };
  }

  /** Before any lookup: a connection's key reaches only that connection (no probing of others). */
  checkConnectionId(caller: IntakeCaller, id: number): void {
    if (caller.kind === 'connection' && caller.connection.id !== id) throw new Forbidden('api key is invalid for this connection: it belongs to another one');
  }

  checkConnectionName(caller: IntakeCaller, name: string): void {
    if (caller.kind === 'connection' && caller.connection.name !== name)
      throw new Forbidden('api key is invalid for this connection: it belongs to another one');
  }

  /**
   * After the lookup: a project key reaches only its own project's connections. The caller answers
   * 404 otherwise, as for a missing connection (docs/contract.md §2), so the key learns nothing of other tenants.
   */
  reaches(caller: IntakeCaller, connection: DevLakeConnectionEntity): boolean {
    if (caller.kind === 'connection') return caller.connection.id === connection.id;
    if (caller.kind === 'project') return caller.projectId === connection.projectId;
    return true;
  }
}
