import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min, ValidatorConstraint, type ValidationArguments, type ValidatorConstraintInterface } from 'class-validator';
import { DIGEST_LIMITS, ValidationFailed, digestPolicyProblems, digestsAllowed, isChannelType, type ChannelType } from '@herald/domain';

/**
 * The webhook options of issue 16 items 1 and 3 (docs/contract.md §10): `digest` and `ordering`, as the API
 * takes and shows them. The rules are the domain's (`digestPolicyProblems`); docs/channels.md and
 * docs/architecture.md describe what they do.
 */

export const DIGEST_DESCRIPTION =
  'Digests instead of floods (chat types only; null or absent: off). When more than afterQueued deliveries of this webhook wait ' +
  '(for its rate limit, or a retry), the next send merges up to maxItems of them into one message: a summary line, then one line ' +
  'per event linking to it, and "… and K more" for what the platform cannot show. Each merged delivery is recorded as delivered ' +
  'by that message (its attempt names the leading delivery). With directMessage, direct-message events are sent one by one as before.';

export const ORDERING_DESCRIPTION =
  'subject: deliveries about the same subject (one issue or incident, one deployment, one rollout; see docs/architecture.md) reach ' +
  'the receiver in the order the events were accepted; an unfinished one (waiting for a retry) holds the later ones of its subject ' +
  'only, until it succeeds, fails or is dead. Events without a subject are not ordered. none (default): no ordering.';

export class DigestPolicyDto {
  @ApiProperty({
    minimum: DIGEST_LIMITS.afterQueued.min,
    maximum: DIGEST_LIMITS.afterQueued.max,
    example: 5,
    description: 'Merge when more than this many deliveries wait',
  })
  @IsInt()
  @Min(DIGEST_LIMITS.afterQueued.min)
  @Max(DIGEST_LIMITS.afterQueued.max)
  afterQueued: number;

  @ApiProperty({
    minimum: DIGEST_LIMITS.maxItems.min,
    maximum: DIGEST_LIMITS.maxItems.max,
    example: 50,
    description: 'At most this many deliveries per message; the rest wait for the next one',
  })
  @IsInt()
  @Min(DIGEST_LIMITS.maxItems.min)
  @Max(DIGEST_LIMITS.maxItems.max)
  maxItems: number;
}

/** On create, in the same pass as the other checks: a custom webhook's digest is refused with the reason. */
@ValidatorConstraint({ name: 'digestForType' })
export class DigestForType implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return digestTypeProblem(value, args) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return digestTypeProblem(args.value, args) ?? '';
  }
}

function digestTypeProblem(value: unknown, args: ValidationArguments): string | null {
  const type = (args.object as { type?: unknown }).type;
  if (value === null || value === undefined || !isChannelType(type) || digestsAllowed(type)) return null;
  return digestPolicyProblems(value, type).find((p) => p.field === 'digest')?.message ?? null;
}

/** On PATCH (its body carries no type): the stored webhook's type decides. */
export function checkDigestForType(type: ChannelType, digest: unknown): void {
  if (digest === null || digest === undefined) return;
  const problems = digestPolicyProblems(digest, type).filter((p) => p.field === 'digest');
  if (problems.length) throw new ValidationFailed(problems);
}
