/** Domain errors carry their data; the HTTP layer maps them to status codes (docs/contract.md §3.2). */
export class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class ValidationFailed extends DomainError {
  constructor(readonly details: FieldProblem[]) {
    super(details.map((d) => `${d.field}: ${d.message}`).join('; '));
  }
}

export class NotFound extends DomainError {}
export class Conflict extends DomainError {}
export class Forbidden extends DomainError {}
