import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { TransformationType } from 'class-transformer';
import type { MetadataStorage as TransformerMetadata } from 'class-transformer/types/MetadataStorage';

// class-transformer's metadata (its `@Type`s) is not exported from its index; this is the module its decorators write to.
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerMetadata };

/** True when a plain (JSON-parsed) value passes every rule of its DTO class. */
export type CompiledCheck = (value: Record<string, unknown>) => boolean;

/** A DTO class. */
export type Target = abstract new (...args: never[]) => unknown;
type PropertyCheck = (object: Record<string, unknown>, value: unknown) => boolean;

/**
 * A DTO's class-validator rules compiled into one synchronous check, for the fast path of the
 * validation pipe. The decorators stay the only place the rules are written: the check is built
 * from class-validator's and class-transformer's metadata, once per class, and calls the same
 * constraint functions (`isString`, `maxLength`, the custom validators) that `validate` calls. What
 * it leaves out is class-validator's generic machinery: metadata lookups, grouping and an error
 * object for every property on every call (about an eighth of ingestion's CPU per event).
 *
 * It only says yes or no. "Yes" must imply that `validate` finds no error (the pipe then skips
 * `validate`); on "no", the pipe runs `validate` as before, which names every problem in the
 * usual shape. So a class with anything the compiler does not follow exactly (groups, `always`,
 * a rule's own `validateIf` option, `IsDefined`, async or promise rules, class-transformer transforms, expose/exclude,
 * discriminators) compiles to null and always takes the full path. The options are those of the
 * API's pipe: whitelist with forbidNonWhitelisted, forbidUnknownValues, no implicit conversion.
 */
export function compiledCheck(target: Target): CompiledCheck | null {
  if (compiled.has(target)) return compiled.get(target) ?? null;
  // Set first: a class that nests itself compiles once (its nested check looks it up lazily).
  compiled.set(target, null);
  const check = compile(target);
  compiled.set(target, check);
  return check;
}

const compiled = new Map<Target, CompiledCheck | null>();

function compile(target: Target): CompiledCheck | null {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(target, '', false, false, undefined);
  // forbidUnknownValues: a class without rules is refused by validate.
  if (metadatas.length === 0) return null;
  if (!transformsNothing(target)) return null;
  const byProperty = new Map<string, ValidationMetadata[]>();
  for (const m of metadatas) {
    if (m.groups?.length || m.always) return null;
    byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);
  }
  const checks: Array<[string, PropertyCheck]> = [];
  for (const [property, list] of byProperty) {
    const check = compileProperty(target, property, list);
    if (!check) return null;
    checks.push([property, check]);
  }
  const allowed = new Set(byProperty.keys());
  return (value) => {
    // whitelist + forbidNonWhitelisted: every key must have a rule.
    for (const key in value) if (!allowed.has(key)) return false;
    for (const [property, check] of checks) if (!check(value, value[property])) return false;
    return true;
  };
}

function compileProperty(target: Target, property: string, list: ValidationMetadata[]): PropertyCheck | null {
  const storage = getMetadataStorage();
  const conditions: Array<(object: object, value: unknown) => boolean> = [];
  const rules: PropertyCheck[] = [];
  let nested: PropertyCheck | null = null;
  // A @Type without @ValidateNested converts the value (say, to a number): the full path decides.
  if (defaultMetadataStorage.findTypeMetadata(target, property) && !list.some((m) => m.type === ValidationTypes.NESTED_VALIDATION)) return null;
  for (const m of list) {
    switch (m.type) {
      case ValidationTypes.CONDITIONAL_VALIDATION:
        conditions.push(m.constraints[0] as (object: object, value: unknown) => boolean);
        break;
      case ValidationTypes.WHITELIST:
        break;
      case ValidationTypes.CUSTOM_VALIDATION: {
        if (m.validateIf) return null;
        for (const constraint of storage.getTargetValidatorConstraints(m.constraintCls)) {
          if (constraint.async) return null;
          rules.push(customRule(target, m, constraint.instance as { validate(value: unknown, args: ValidationArguments): unknown }));
        }
        break;
      }
      case ValidationTypes.NESTED_VALIDATION: {
        if (nested) return null;
        nested = nestedRule(target, property, m.each);
        if (!nested) return null;
        break;
      }
      default:
        // IS_DEFINED, PROMISE_VALIDATION and anything newer: the full path decides.
        return null;
    }
  }
  const all = nested ? [...rules, nested] : rules;
  return (object, value) => {
    for (const condition of conditions) if (!condition(object, value)) return true;
    for (const rule of all) if (!rule(object, value)) return false;
    return true;
  };
}

/** A custom (or built-in) constraint, called as class-validator calls it, `each` included. */
function customRule(target: Target, m: ValidationMetadata, instance: { validate(value: unknown, args: ValidationArguments): unknown }): PropertyCheck {
  const args = (object: object, value: unknown): ValidationArguments => ({
    targetName: target.name,
    property: m.propertyName,
    object,
    value,
    constraints: m.constraints,
  });
  // A promise is not a yes: the full path awaits it.
  const holds = (result: unknown) => result === true || (result !== false && !!result && typeof (result as Promise<unknown>).then !== 'function');
  if (!m.each) return (object, value) => holds(instance.validate(value, args(object, value)));
  return (object, value) => {
    if (!Array.isArray(value)) {
      // Sets and Maps cannot come from JSON; anything else is checked whole, as validate does.
      return !(value instanceof Set || value instanceof Map) && holds(instance.validate(value, args(object, value)));
    }
    const a = args(object, value);
    return value.every((item) => holds(instance.validate(item, a)));
  };
}

/**
 * `@ValidateNested()` with class-transformer's `@Type(() => Class)`: the nested value (or, with
 * `each`, every item of the array) must be a plain object that passes `Class`'s compiled check.
 */
function nestedRule(target: Target, property: string, each: boolean): PropertyCheck | null {
  const type = defaultMetadataStorage.findTypeMetadata(target, property);
  if (!type || type.options?.discriminator) return null;
  const nestedClass = type.typeFunction() as unknown as Target;
  if (typeof nestedClass !== 'function' || BUILT_INS.has(nestedClass)) return null;
  // Looked up at the first call: nested classes may be defined after their parent.
  let check: CompiledCheck | null | undefined;
  const passes = (item: unknown): boolean => {
    if (check === undefined) check = compiledCheck(nestedClass);
    return check !== null && isPlainObject(item) && check(item);
  };
  return (_object, value) => {
    if (value === undefined) return true;
    if (Array.isArray(value)) return value.every(passes);
    return !each && passes(value);
  };
}

const BUILT_INS = new Set<unknown>([Object, Array, String, Number, Boolean, Date, Map, Set, Buffer]);

/** class-transformer changes nothing of the class's values: no transforms, expose/exclude or strategy. */
function transformsNothing(target: Target): boolean {
  const s = defaultMetadataStorage;
  if (s.getStrategy(target) !== 'none' || s.getExposedMetadatas(target).length || s.getExcludedMetadatas(target).length) return false;
  const properties = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(target, '', false, false, undefined)
      .map((m) => m.propertyName),
  );
  for (const property of properties) {
    if (s.findTransformMetadatas(target, property, TransformationType.PLAIN_TO_CLASS).length) return false;
  }
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
