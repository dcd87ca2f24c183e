import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

/** Names appear in `connections/by-name/{name}` URLs: no slash, no control characters. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const CONNECTION_NAME = /^[^/\\\u0000-\u001f\u007f]+$/;

export class CreateConnectionDto {
  @ApiProperty({
    example: 'ci',
    maxLength: 100,
    description: 'Unique within the project; `{key}_deployments` is reserved for project `key` (its projects/{key}/deployments route)',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  @Matches(CONNECTION_NAME, { message: 'name must not contain "/", "\\" or control characters' })
  name: string;
}

export class UpdateConnectionDto extends CreateConnectionDto {}

export class ConnectionEndpointsDto {
  @ApiProperty({ example: 'http://localhost:8080/api/rest/plugins/webhook/connections/1/deployments' }) deployments: string;
  @ApiProperty({ example: 'http://localhost:8080/api/rest/plugins/webhook/connections/1/issues' }) issues: string;
  @ApiProperty({ example: 'http://localhost:8080/api/rest/plugins/webhook/connections/1/issue/:issueKey/close' }) closeIssue: string;
  @ApiProperty({ example: 'http://localhost:8080/api/rest/plugins/webhook/connections/1/pull_requests' }) pullRequests: string;
}

export class ConnectionCurlDto {
  @ApiProperty() deployments: string;
  @ApiProperty() issues: string;
  @ApiProperty() closeIssue: string;
  @ApiProperty() pullRequests: string;
}

export class ConnectionDto {
  @ApiProperty() id: number;
  @ApiProperty() name: string;
  @ApiProperty({ type: ConnectionEndpointsDto }) endpoints: ConnectionEndpointsDto;
  @ApiProperty({ description: 'The last four characters of the key' }) keyHint: string;
  @ApiProperty() createdAt: string;
}

/** The create and rotate answers: the only ones that carry the key. */
export class ConnectionWithKeyDto extends ConnectionDto {
  @ApiProperty({ description: 'Shown once; only a hash is stored' }) apiKey: string;
  @ApiProperty({ type: ConnectionCurlDto, description: 'Ready-to-paste commands, key included' }) curl: ConnectionCurlDto;
}

export class ConnectionPageDto {
  @ApiProperty({ type: [ConnectionDto] }) items: ConnectionDto[];
  @ApiPropertyOptional({ type: String, nullable: true }) nextCursor: string | null;
}
