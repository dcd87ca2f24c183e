import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
  ValidationArguments,
  registerDecorator,
  type ValidationOptions,
} from 'class-validator';
import { EVENT_LEVELS, EVENT_TYPES } from '@herald/domain';
import { LINK_RULE, MAX_LINK, isAbsoluteHttpUrl } from '../link';

/** Ids from producers may be numbers or strings; numbers stay numbers on the way out (docs/contract.md §7.3). */
export function IsIdLike(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isIdLike',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => (typeof value === 'string' && value.length <= 255) || (typeof value === 'number' && Number.isFinite(value)),
        defaultMessage: (args: ValidationArguments) => `${args.property} must be a string (at most 255 characters) or a finite number`,
      },
    });
}

/** An absolute http(s) URL (docs/contract.md §4.1); anything else would become broken or injected chat markup. */
export function IsAbsoluteHttpUrl(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isAbsoluteHttpUrl',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isAbsoluteHttpUrl(value),
        defaultMessage: () => LINK_RULE,
      },
    });
}

const SHORT = 1000;
const LONG = 65_536;

export class PersonDto {
  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'number' }] })
  @IsOptional()
  @IsIdLike()
  id?: string | number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string;

  @ApiPropertyOptional({ description: 'Used for DingTalk mentions and direct messages' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  phone?: string;
}

export class IssueCreatorDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string;
}

export class IssueDto {
  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'number' }] })
  @IsOptional()
  @IsIdLike()
  id?: string | number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  key?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  name?: string;

  @ApiPropertyOptional({ enum: ['OPEN', 'DONE', 'CANCELED'] })
  @IsOptional()
  @IsIn(['OPEN', 'DONE', 'CANCELED'])
  status?: string;

  @ApiPropertyOptional({ description: 'e.g. bb.issue.database.schema.update, or free text such as BUG' })
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  type?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(LONG)
  description?: string;

  @ApiPropertyOptional({ type: IssueCreatorDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => IssueCreatorDto)
  creator?: IssueCreatorDto;
}

export class NameStatusDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  status?: string;
}

export class RolloutDto {
  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'number' }] })
  @IsOptional()
  @IsIdLike()
  id?: string | number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  title?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  environment?: string;
}

export class CommentDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(LONG)
  text?: string;
}

/** One event for `POST /v1/projects/{key}/events` (docs/contract.md §4, §5.1). Only `type` is required. */
export class EventDto {
  @ApiProperty({ enum: EVENT_TYPES })
  @IsIn(EVENT_TYPES as unknown as string[], { message: `type must be one of: ${EVENT_TYPES.join(', ')}` })
  type: string;

  @ApiPropertyOptional({ enum: EVENT_LEVELS, description: 'Defaults to the catalogue level of the type' })
  @IsOptional()
  @IsIn(EVENT_LEVELS as unknown as string[])
  level?: string;

  @ApiPropertyOptional({ description: 'Defaults to the catalogue title of the type; a blank title ("" or whitespace) means that default too' })
  @IsOptional()
  @IsString()
  @MaxLength(SHORT)
  title?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(LONG)
  description?: string;

  @ApiPropertyOptional({ description: 'An absolute http(s) URL', example: 'https://example.com/issues/42', maxLength: MAX_LINK })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_LINK)
  @IsAbsoluteHttpUrl()
  link?: string;

  @ApiPropertyOptional({ type: PersonDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PersonDto)
  actor?: PersonDto;

  @ApiPropertyOptional({ type: IssueDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => IssueDto)
  issue?: IssueDto;

  @ApiPropertyOptional({ type: NameStatusDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => NameStatusDto)
  stage?: NameStatusDto;

  @ApiPropertyOptional({ type: NameStatusDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => NameStatusDto)
  task?: NameStatusDto;

  @ApiPropertyOptional({ type: RolloutDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RolloutDto)
  rollout?: RolloutDto;

  @ApiPropertyOptional({ type: CommentDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => CommentDto)
  comment?: CommentDto;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  deployment?: Record<string, unknown>;

  @ApiPropertyOptional({ type: [PersonDto], description: 'The related users who get direct messages' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => PersonDto)
  mentions?: PersonDto[];

  @ApiPropertyOptional({ description: 'RFC 3339; defaults to the time Herald receives the event' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  occurredAt?: string;
}

export class AcceptedEventDto {
  @ApiProperty() id: string;
  @ApiProperty() type: string;
  @ApiProperty({ description: 'true when an earlier request with the same Idempotency-Key was answered' }) duplicate: boolean;
}

export class AcceptedBatchDto {
  @ApiProperty({ type: [AcceptedEventDto] }) items: AcceptedEventDto[];
}
