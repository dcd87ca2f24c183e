import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

export const PROJECT_KEY = /^[a-z0-9][a-z0-9-]{1,62}$/;

export class CreateProjectDto {
  @ApiProperty({ pattern: PROJECT_KEY.source, example: 'payments' })
  @IsString()
  @Matches(PROJECT_KEY, { message: 'key must match ^[a-z0-9][a-z0-9-]{1,62}$ (lowercase letters, digits and dashes, 2 to 63 characters)' })
  key: string;

  @ApiProperty({ example: 'Payments' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;
}

export class UpdateProjectDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;
}

export class ProjectDto {
  @ApiProperty() id: number;
  @ApiProperty() key: string;
  @ApiProperty() name: string;
  @ApiProperty() createdAt: string;
}

export class ProjectPageDto {
  @ApiProperty({ type: [ProjectDto] }) items: ProjectDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;
}

export class ApiKeyDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'The last four characters of the key' }) hint: string;
  @ApiProperty() createdAt: string;
}

export class CreatedApiKeyDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'Shown once; only a hash is stored' }) key: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) items: ApiKeyDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
