import { ApiProperty } from '@nestjs/swagger';

export class DoraMonthDto {
  @ApiProperty({ example: '2024-03', description: 'Calendar month (UTC), clipped to the window' }) month: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ description: 'Successful deployments that finished in the month (0 when none)' }) deployments: number;
  @ApiProperty() deploymentDays: number;
  @ApiProperty({ type: Number, nullable: true }) leadTimeMedianMinutes: number | null;
  @ApiProperty({ type: Number, nullable: true, description: '0..1' }) changeFailureRate: number | null;
  @ApiProperty({ type: Number, nullable: true }) recoveryMedianMinutes: number | null;
}

export class DoraDeploymentRowDto {
  @ApiProperty() connectionId: number;
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() result: string;
  @ApiProperty() environment: string;
  @ApiProperty() finishedDate: string;
  @ApiProperty() commits: number;
  @ApiProperty({ description: 'Incidents this deployment caused (the latest successful deployment before each incident)' }) incidents: number;
}

export class DoraLinkedDeploymentDto {
  @ApiProperty() connectionId: number;
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() finishedDate: string;
}

export class DoraIncidentRowDto {
  @ApiProperty() connectionId: number;
  @ApiProperty() issueKey: string;
  @ApiProperty() title: string;
  @ApiProperty() createdDate: string;
  @ApiProperty({ type: String, nullable: true }) resolutionDate: string | null;
  @ApiProperty({ type: DoraLinkedDeploymentDto, nullable: true, description: 'The deployment it is attributed to; null when none came before it' })
  deployment: DoraLinkedDeploymentDto | null;
  @ApiProperty({ type: Number, nullable: true, description: "From that deployment's finish to the resolution" }) recoveryMinutes: number | null;
}

export class BenchmarkLevelsDto {
  @ApiProperty() elite: string;
  @ApiProperty() high: string;
  @ApiProperty() medium: string;
  @ApiProperty() low: string;
}

export class BenchmarkRowDto {
  @ApiProperty({ enum: ['deploymentFrequency', 'leadTimeForChanges', 'changeFailureRate', 'recoveryTime'] }) metric: string;
  @ApiProperty({ type: BenchmarkLevelsDto }) levels: BenchmarkLevelsDto;
}

export class DoraDetailsDto {
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ enum: ['2023', '2021'] }) report: string;
  @ApiProperty() environment: string;
  @ApiProperty({ type: [DoraMonthDto], description: 'Every month of the window, empty months included' }) months: DoraMonthDto[];
  @ApiProperty({ type: [DoraDeploymentRowDto], description: 'Deployments of the environment that finished in the window, newest first (at most 500)' })
  deployments: DoraDeploymentRowDto[];
  @ApiProperty({ type: [DoraIncidentRowDto], description: 'Incidents created in the window, newest first (at most 500)' }) incidents: DoraIncidentRowDto[];
  @ApiProperty({ type: [BenchmarkRowDto] }) benchmarks: BenchmarkRowDto[];
}
