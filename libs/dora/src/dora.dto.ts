import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, ValidateBy } from 'class-validator';
import { readRfc3339 } from '@herald/domain';

export const DORA_ENVIRONMENTS = ['PRODUCTION', 'STAGING', 'TESTING', 'DEVELOPMENT'] as const;
const LEVELS = ['elite', 'high', 'medium', 'low', 'none'];

function IsRfc3339(example: string): PropertyDecorator {
  return ValidateBy({
    name: 'isRfc3339',
    validator: {
      validate: (value: unknown) => readRfc3339(value) instanceof Date,
      defaultMessage: (args) =>
        readRfc3339(args?.value) === 'out of range'
          ? `${args?.property} must fall within the years 0001 to 9999 once converted to UTC`
          : // A literal + in a query string arrives as a space.
            `${args?.property} must be an RFC 3339 date-time with an offset or Z, such as ${example} (write + as %2B in a URL)`,
    },
  });
}

export class DoraQueryDto {
  @ApiPropertyOptional({ description: 'RFC 3339 with an offset or Z; default: `to` minus 90 days', example: '2024-01-01T00:00:00Z' })
  @IsOptional()
  @IsRfc3339('2024-01-01T00:00:00Z')
  from?: string;

  @ApiPropertyOptional({ description: 'RFC 3339 with an offset or Z; default: now', example: '2024-04-01T00:00:00-05:00' })
  @IsOptional()
  @IsRfc3339('2024-04-01T00:00:00-05:00')
  to?: string;

  @ApiPropertyOptional({ enum: ['2023', '2021'], default: '2023' })
  @IsOptional()
  @IsIn(['2023', '2021'], { message: 'report must be 2023 or 2021' })
  report?: '2023' | '2021';

  @ApiPropertyOptional({ enum: DORA_ENVIRONMENTS, default: 'PRODUCTION' })
  @IsOptional()
  @IsIn(DORA_ENVIRONMENTS as unknown as string[], { message: `environment must be one of ${DORA_ENVIRONMENTS.join(', ')}` })
  environment?: string;
}

export class DeploymentFrequencyDto {
  @ApiProperty({ type: Number, nullable: true, description: 'Median of distinct deployment days per week (weeks start Monday)' }) weeklyMedianDays:
    number | null;
  @ApiProperty({ type: Number, nullable: true }) monthlyMedianDays: number | null;
  @ApiPropertyOptional({ type: Number, nullable: true, description: '2021 report only' }) sixMonthMedianDays?: number | null;
  @ApiProperty() deploymentDays: number;
  @ApiProperty() deployments: number;
  @ApiProperty({ enum: LEVELS }) level: string;
  @ApiProperty() label: string;
}

export class LeadTimeDto {
  @ApiProperty({ type: Number, nullable: true }) medianMinutes: number | null;
  @ApiProperty() changes: number;
  @ApiProperty({ enum: ['pull_requests', 'deployment_commits'] }) basis: string;
  @ApiProperty({ enum: LEVELS }) level: string;
  @ApiProperty() label: string;
}

export class ChangeFailureRateDto {
  @ApiProperty({ type: Number, nullable: true }) value: number | null;
  @ApiProperty() deployments: number;
  @ApiProperty() failedDeployments: number;
  @ApiProperty({ enum: LEVELS }) level: string;
  @ApiProperty() label: string;
}

export class RecoveryTimeDto {
  @ApiProperty({ enum: ['failed_deployment_recovery_time', 'time_to_restore'] }) kind: string;
  @ApiProperty({ type: Number, nullable: true }) medianMinutes: number | null;
  @ApiProperty() incidents: number;
  @ApiProperty({ enum: LEVELS }) level: string;
  @ApiProperty() label: string;
}

export class DoraDto {
  @ApiProperty() project: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ enum: ['2023', '2021'] }) report: string;
  @ApiProperty() environment: string;
  @ApiProperty({ type: DeploymentFrequencyDto }) deploymentFrequency: DeploymentFrequencyDto;
  @ApiProperty({ type: LeadTimeDto }) leadTimeForChanges: LeadTimeDto;
  @ApiProperty({ type: ChangeFailureRateDto }) changeFailureRate: ChangeFailureRateDto;
  @ApiProperty({ type: RecoveryTimeDto }) recoveryTime: RecoveryTimeDto;
}
