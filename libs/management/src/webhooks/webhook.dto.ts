import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateNested,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { DM_PROVIDERS, channelConfigProblems } from '@herald/channels';
import { CHANNEL_TYPES, EVENT_TYPES, ORDERING_MODES, type OrderingMode } from '@herald/domain';
import { DIGEST_DESCRIPTION, DigestForType, DigestPolicyDto, ORDERING_DESCRIPTION } from './delivery-options.dto';

/** `ordering` on create (its default shown) and update. */
function OrderingProperty(extra: { default?: OrderingMode } = {}) {
  return applyDecorators(
    ApiPropertyOptional({ enum: ORDERING_MODES, ...extra, description: ORDERING_DESCRIPTION }),
    IsOptional(),
    IsIn(ORDERING_MODES as unknown as string[], { message: `ordering must be one of: ${ORDERING_MODES.join(', ')}` }),
  );
}

/** `filter` on create and update; `nullOrAbsent` says what null and an absent field mean there. */
function FilterProperty(nullOrAbsent: string) {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'object',
      additionalProperties: true,
      nullable: true,
      description:
        'Only events this JSON filter passes are delivered (besides `events`): keys are dotted paths into the event as the events API returns it, a plain value means equality, operators $eq $ne $in $nin $exists $gt $gte $lt $lte $regex (RE2) $and $or; ' +
        `${nullOrAbsent} See docs/channels.md, "Filters".`,
      example: { 'deployment.environment': 'PRODUCTION' },
    }),
    IsOptional(),
    IsObject({ message: 'filter must be a JSON object of conditions, or null for none' }),
  );
}

/** `templates` on create and update; `nullOrAbsent` says what null and an absent field mean there. */
function TemplatesProperty(nullOrAbsent: string) {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'object',
      additionalProperties: { type: 'string' },
      nullable: true,
      description:
        'Chat channels only: the message text per event type, in Liquid (sandboxed: no include/render/layout, a small filter set, render limits), over the event, `project` and `message`; ' +
        `${nullOrAbsent} See docs/channels.md, "Message templates".`,
      example: { 'deployment.create': '{{ message.emoji }} {{ rollout.title }} by {{ actor.name | default: "DevLake" }}' },
    }),
    IsOptional(),
    IsObject({ message: 'templates must be an object from event type to Liquid text, or null for none' }),
  );
}

export class RateLimitDto {
  @ApiProperty({ minimum: 1, maximum: 100_000 })
  @IsInt()
  @Min(1)
  @Max(100_000)
  count: number;

  @ApiProperty({ minimum: 1, maximum: 86_400 })
  @IsInt()
  @Min(1)
  @Max(86_400)
  perSeconds: number;
}

/**
 * HERALD_EXTRA_ALLOWED_HOSTS for the DTO pass, set at boot by WebhooksService (class-validator
 * builds constraints itself, so they cannot be injected). Until it is set, the pass checks the
 * URL's form and leaves the host allow-list to the service, which checks everything again.
 */
export const dtoChannelRules: { extraHosts: readonly string[] | null } = { extraHosts: null };

/**
 * The channel's own rules for `url`, `secret` and `directMessage` (its adapter's), run in the same
 * pass as the other checks so one answer names every bad field.
 */
@ValidatorConstraint({ name: 'channelRules' })
class ChannelRules implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return channelProblem(args) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return channelProblem(args) ?? '';
  }
}

function channelProblem(args: ValidationArguments): string | null {
  const type = (args.object as { type?: unknown }).type;
  const problems = channelConfigProblems(typeof type === 'string' ? type : '', { [args.property]: args.value }, dtoChannelRules.extraHosts).filter(
    (p) => p.field === args.property,
  );
  return problems.length ? problems.map((p) => p.message).join('; ') : null;
}

const EVENTS_MESSAGE = `each value in events must be one of: ${EVENT_TYPES.join(', ')}`;

export class CreateWebhookDto {
  @ApiProperty({ example: 'deploys to #ops' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: CHANNEL_TYPES })
  @IsIn(CHANNEL_TYPES as unknown as string[], { message: `type must be one of: ${CHANNEL_TYPES.join(', ')}` })
  type: string;

  @ApiProperty({ description: "The platform's incoming-webhook URL (checked against the type's host allow-list)" })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  @Validate(ChannelRules)
  url: string;

  @ApiProperty({ enum: EVENT_TYPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(EVENT_TYPES as unknown as string[], { each: true, message: EVENTS_MESSAGE })
  events: string[];

  @ApiPropertyOptional({ default: false, description: `${DM_PROVIDERS.join(', ')}: message the mentioned users directly` })
  @IsOptional()
  @IsBoolean()
  @Validate(ChannelRules)
  directMessage?: boolean;

  @ApiPropertyOptional({
    description: 'custom: a whsec_ secret (generated when absent); dingtalk: the robot SEC... secret; feishu/lark: the bot signing secret',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  @Validate(ChannelRules)
  secret?: string;

  @ApiPropertyOptional({ type: RateLimitDto, description: "Defaults to the platform's published limit" })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ enum: ['en', 'zh'], description: 'Message language; default zh for DingTalk, en elsewhere' })
  @IsOptional()
  @IsIn(['en', 'zh'])
  locale?: string;

  @ApiPropertyOptional({ type: DigestPolicyDto, nullable: true, description: DIGEST_DESCRIPTION })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DigestPolicyDto)
  @Validate(DigestForType)
  digest?: DigestPolicyDto | null;

  @OrderingProperty({ default: 'none' })
  ordering?: OrderingMode;

  @FilterProperty('null or absent: no filter.')
  filter?: Record<string, unknown> | null;

  @TemplatesProperty('null or absent: the built-in message.')
  templates?: Record<string, string> | null;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ enum: EVENT_TYPES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(EVENT_TYPES as unknown as string[], { each: true, message: EVENTS_MESSAGE })
  events?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  directMessage?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  secret?: string;

  @ApiPropertyOptional({ type: RateLimitDto, nullable: true, description: "null returns to the platform's default" })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto | null;

  @ApiPropertyOptional({ description: 'true re-enables a disabled webhook and clears disabledReason and disabledAt' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ enum: ['en', 'zh'], nullable: true })
  @IsOptional()
  @IsIn(['en', 'zh'])
  locale?: string | null;

  @ApiPropertyOptional({ type: DigestPolicyDto, nullable: true, description: `${DIGEST_DESCRIPTION} null turns digests off.` })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DigestPolicyDto)
  digest?: DigestPolicyDto | null;

  @OrderingProperty()
  ordering?: OrderingMode;

  @FilterProperty('null removes the filter; absent leaves it.')
  filter?: Record<string, unknown> | null;

  @TemplatesProperty('null removes every template; a new object replaces the old one whole; absent leaves them.')
  templates?: Record<string, string> | null;
}

export class WebhookDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: CHANNEL_TYPES }) type: string;
  @ApiProperty({ description: 'Scheme, host and the last four characters; the URL is a credential and is never returned' }) urlMasked: string;
  @ApiProperty({ isArray: true, enum: EVENT_TYPES }) events: string[];
  @ApiProperty() directMessage: boolean;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ enum: ['active', 'disabled'] }) status: 'active' | 'disabled';
  @ApiProperty({ type: String, nullable: true }) disabledReason: string | null;
  @ApiProperty({ type: String, nullable: true }) disabledAt: string | null;
  @ApiProperty({ type: RateLimitDto, nullable: true, description: "The limit in force: its own, or the type default's first window (see rateLimits)" })
  rateLimit: RateLimitDto | null;
  @ApiProperty({ type: [RateLimitDto], description: 'Every window in force; a send needs room in each (Feishu and Lark: 5 per 1 s and 100 per 60 s)' })
  rateLimits: RateLimitDto[];
  @ApiProperty({ enum: ['en', 'zh'] }) locale: string;
  @ApiProperty({ type: DigestPolicyDto, nullable: true, description: DIGEST_DESCRIPTION }) digest: DigestPolicyDto | null;
  @ApiProperty({ enum: ORDERING_MODES, description: ORDERING_DESCRIPTION }) ordering: OrderingMode;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The JSON filter events must pass; null: none' }) filter: Record<
    string,
    unknown
  > | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    nullable: true,
    description: 'Message text per event type (Liquid); null: the built-in message',
  })
  templates: Record<string, string> | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiPropertyOptional({ description: 'custom webhooks, in the create answer only' }) secret?: string;
}

export class WebhookPageDto {
  @ApiProperty({ type: [WebhookDto] }) items: WebhookDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class WebhookSecretDto {
  @ApiProperty({ example: 'whsec_...' }) secret: string;
}
