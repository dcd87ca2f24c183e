import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional } from 'class-validator';

export const DORA_ENVIRONMENTS = ['PRODUCTION', 'STAGING', 'TESTING', 'DEVELOPMENT'] as const;
const LEVELS = ['elite', 'high', 'medium', 'low', 'none'];

export class DoraQueryDto {
  @ApiPropertyOptional({ description: 'RFC 3339; default: `to` minus 90 days' })
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }, { message: 'from must be an RFC 3339 date such as 2024-01-01T00:00:00Z' })
  from?: string;

  @ApiPropertyOptional({ description: 'RFC 3339; default: now' })
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }, { message: 'to must be an RFC 3339 date such as 2024-04-01T00:00:00Z' })
  to?: string;

  @ApiPropertyOptional({ enum: ['2023', '2021'], default: '2023' })
  @IsOptional() @IsIn(['2023', '2021'], { message: 'report must be 2023 or 2021' })
  report?: '2023' | '2021';

  @ApiPropertyOptional({ enum: DORA_ENVIRONMENTS, default: 'PRODUCTION' })
  @IsOptional() @IsIn(DORA_ENVIRONMENTS as unknown as string[], { message: `environment must be one of ${DORA_ENVIRONMENTS.join(', ')}` })
  environment?: string;
}

export class DeploymentFrequencyDto {
  @ApiProperty({ type: Number, nullable: true, description: 'Median of distinct deployment days per week (weeks start Monday)' }) weeklyMedianDays: number | null;
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
