/** A 401 anywhere means the token stopped working (revoked): the app signs out, saying why. */
let handler: () => void = () => undefined;

export function setUnauthorizedHandler(next: () => void): void {
  handler = next;
}

export function unauthorized(): void {
  handler();
}
