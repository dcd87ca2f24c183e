import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsDefined, IsIn, IsInt, IsOptional, IsString, MaxLength, ValidateIf, ValidateNested } from 'class-validator';
import { compiledCheck } from './compiled-validation';

class Child {
  @IsString()
  @MaxLength(3)
  name: string;
}

class Parent {
  @IsIn(['a', 'b'])
  kind: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => Child)
  child?: Child;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2)
  @ValidateNested({ each: true })
  @Type(() => Child)
  children?: Child[];

  @IsOptional()
  @IsString({ each: true })
  tags?: string[];
}

class WithValidateIf {
  @ValidateIf((o: { kind?: string }) => o.kind === 'x')
  @IsString()
  name: string;
}

class WithTransform {
  @Transform(({ value }: { value: string }) => value.trim())
  @IsString()
  name: string;
}

class WithConversion {
  @Type(() => Number)
  @IsInt()
  count: number;
}

class WithDefined {
  @IsDefined()
  name: string;
}

class Untyped {
  @ValidateNested()
  child: Child;
}

describe('compiledCheck', () => {
  const check = compiledCheck(Parent);

  it.each([
    ['the required field', { kind: 'a' }, true],
    ['a value outside the list', { kind: 'c' }, false],
    ['an unknown key', { kind: 'a', other: 1 }, false],
    ['a nested object', { kind: 'a', child: { name: 'abc' } }, true],
    ['a nested object breaking its rule', { kind: 'a', child: { name: 'abcd' } }, false],
    ['an unknown key in a nested object', { kind: 'a', child: { name: 'a', x: 1 } }, false],
    ['a nested value that is no object', { kind: 'a', child: 'abc' }, false],
    ['null where optional', { kind: 'a', child: null }, true],
    ['an array of nested objects', { kind: 'a', children: [{ name: 'a' }, { name: 'b' }] }, true],
    ['an array over its size', { kind: 'a', children: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] }, false],
    ['an array item breaking its rule', { kind: 'a', children: [{ name: 'a' }, { name: 5 }] }, false],
    ['each item a string', { kind: 'a', tags: ['x', 'y'] }, true],
    ['one item not a string', { kind: 'a', tags: ['x', 1] }, false],
  ])('%s → %s', (_name, body, expected) => {
    expect(check?.(body)).toBe(expected);
  });

  it.each([
    ['a class-transformer Transform', WithTransform],
    ['a converting Type', WithConversion],
    ['IsDefined', WithDefined],
  ])('leaves a class with %s to the full path', (_name, target) => {
    expect(compiledCheck(target)).toBeNull();
  });

  it('follows ValidateIf as validate does: the rules apply only when its condition holds', () => {
    const conditional = compiledCheck(WithValidateIf);
    expect(conditional?.({ name: 5 })).toBe(true);
    expect(compiledCheck(WithValidateIf)).toBe(conditional);
  });

  it('says no to a nested value whose class it cannot know (no @Type)', () => {
    expect(compiledCheck(Untyped)?.({ child: { name: 'a' } }) ?? false).toBe(false);
  });
});
