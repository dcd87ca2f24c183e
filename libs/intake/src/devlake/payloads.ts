import { createHash } from 'node:crypto';
import { FIRST_INSTANT_MS, LAST_INSTANT_MS, ValidationFailed, type FieldProblem } from '@herald/domain';
import type { IssueFields, NewDeployment, NewDeploymentCommit, NewPullRequest } from '@herald/persistence';

/**
 * Parsing of DevLake webhook bodies (docs/contract.md §5.2) into what Herald stores. Pure: no I/O, the clock
 * is an argument. Every problem is collected and reported at once, each naming its field.
 *
 * As DevLake does, values are weakly typed (a number where a string is expected becomes a string,
 * a numeric string where a number is expected becomes a number), unknown keys are ignored, and
 * keys are matched exactly first, then case-insensitively (DevLake's mapstructure does the same).
 */

export const ENVIRONMENTS = ['PRODUCTION', 'STAGING', 'TESTING', 'DEVELOPMENT'] as const;
export const ISSUE_STATUSES = ['TODO', 'DONE', 'IN_PROGRESS'] as const;
export const PULL_REQUEST_STATUSES = ['OPEN', 'CLOSED', 'MERGED'] as const;

const SHORT = 1000;
const INT_MAX = 2_147_483_647;
const LONG = 65_536;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Reads the date formats DevLake accepts: RFC 3339 / ISO-8601 with an offset (`+00:00`, `+0000`,
 * `+00`) or `Z`, and `YYYY-MM-DD HH:MM[:SS]` without a zone, read as UTC. A date that the offset
 * moves outside the years 0001-9999 in UTC is `out of range`.
 */
export function readDevLakeDate(text: string): Date | 'unreadable' | 'out of range' {
  const m = DATE_RE.exec(text.trim());
  if (!m) return 'unreadable';
  const [, y, mo, d, sep, h, mi, s, frac, zone] = m;
  // With a `T` the zone is required (RFC 3339); the space form without a zone is UTC.
  if (zone === undefined && sep !== ' ') return 'unreadable';
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return 'unreadable';
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return 'unreadable';
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as written (Date.UTC maps them to 1900-1999),
  // and the offset is applied afterwards so it can move the date across a day, month or year.
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  if (local.getUTCDate() !== day) return 'unreadable'; // 31 April rolled over into May
  local.setUTCHours(hour, minute, second, ms);
  const utc = local.getTime() - offsetMinutes * 60_000;
  // Postgres refuses what toISOString writes outside these years (`0000-…`, `+010000-…`).
  if (utc < FIRST_INSTANT_MS || utc > LAST_INSTANT_MS) return 'out of range';
  return new Date(utc);
}

/** The instant a DevLake date names, or null when it is unreadable or out of range. */
export function parseDevLakeDate(text: string): Date | null {
  const date = readDevLakeDate(text);
  return date instanceof Date ? date : null;
}

const DATE_HINT = 'must be a date such as 2020-01-01T12:00:00+00:00 (RFC 3339 with an offset or Z) or 2020-01-01 12:00:00 (UTC)';

/** Reads fields of one JSON object, collecting problems under a path prefix. */
export class FieldReader {
  private readonly lower = new Map<string, string>();

  constructor(
    private readonly body: Record<string, unknown>,
    readonly problems: FieldProblem[],
    private readonly path = '',
  ) {
    for (const k of Object.keys(body)) if (!this.lower.has(k.toLowerCase())) this.lower.set(k.toLowerCase(), k);
  }

  private name(field: string): string {
    return this.path ? `${this.path}.${field}` : field;
  }

  problem(field: string, message: string): void {
    this.problems.push({ field: this.name(field), message });
  }

  /** The first of `names` present (exact, then case-insensitive), and the spelling found. */
  raw(names: string[]): { key: string; value: unknown } | undefined {
    for (const n of names) if (Object.prototype.hasOwnProperty.call(this.body, n)) return { key: n, value: this.body[n] };
    for (const n of names) {
      const k = this.lower.get(n.toLowerCase());
      if (k !== undefined) return { key: k, value: this.body[k] };
    }
    return undefined;
  }

  has(names: string[]): boolean {
    const found = this.raw(names);
    return found !== undefined && found.value !== null;
  }

  string(names: string[], options: { required?: boolean; max?: number; nonEmpty?: boolean } = {}): string | null {
    const found = this.raw(names);
    const field = found?.key ?? names[0];
    const value = found?.value;
    if (value === undefined || value === null || (value === '' && options.required)) {
      if (options.required) this.problem(field, value === '' ? 'must not be empty' : 'is required');
      return null;
    }
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
    else if (typeof value === 'boolean') text = String(value);
    else {
      this.problem(field, 'must be a string');
      return null;
    }
    const max = options.max ?? SHORT;
    if (text.includes('\u0000')) {
      // Postgres text cannot hold NUL.
      this.problem(field, 'must not contain NUL characters');
      return null;
    }
    if (text.length > max) {
      this.problem(field, `must be at most ${max} characters`);
      return null;
    }
    return text;
  }

  oneOf<T extends string>(names: string[], allowed: readonly T[], options: { required?: boolean } = {}): T | null {
    const found = this.raw(names);
    const text = this.string(names, { required: options.required });
    if (text === null) return null;
    if (text === '' && !options.required) return null;
    if (!(allowed as readonly string[]).includes(text)) {
      this.problem(found?.key ?? names[0], `must be one of ${allowed.join(', ')}, got ${JSON.stringify(text.slice(0, 100))}`);
      return null;
    }
    return text as T;
  }

  date(names: string[], options: { required?: boolean } = {}): Date | null {
    const found = this.raw(names);
    const field = found?.key ?? names[0];
    const value = found?.value;
    if (value === undefined || value === null || value === '') {
      if (options.required) this.problem(field, `is required (${DATE_HINT.replace('must be ', '')})`);
      return null;
    }
    if (typeof value !== 'string') {
      this.problem(field, `${DATE_HINT}; got a ${Array.isArray(value) ? 'list' : typeof value}`);
      return null;
    }
    const date = readDevLakeDate(value);
    if (date === 'unreadable') this.problem(field, `${DATE_HINT}; cannot read ${JSON.stringify(value.slice(0, 100))}`);
    if (date === 'out of range')
      this.problem(field, `must fall within the years 0001 to 9999 once converted to UTC; got ${JSON.stringify(value.slice(0, 100))}`);
    return date instanceof Date ? date : null;
  }

  number(names: string[], options: { integer?: boolean; min?: number; max?: number } = {}): number | null {
    const found = this.raw(names);
    const field = found?.key ?? names[0];
    const value = found?.value;
    if (value === undefined || value === null || value === '') return null;
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
    const kind = options.integer ? 'a whole number' : 'a number';
    if (!Number.isFinite(n) || (options.integer && !Number.isSafeInteger(n))) {
      this.problem(field, `must be ${kind}`);
      return null;
    }
    if (options.min !== undefined && n < options.min) {
      this.problem(field, `must be ${kind} of at least ${options.min}`);
      return null;
    }
    if (options.max !== undefined && n > options.max) {
      this.problem(field, `must be ${kind} of at most ${options.max}`);
      return null;
    }
    return n;
  }

  boolean(names: string[]): boolean | null {
    const found = this.raw(names);
    const value = found?.value;
    if (value === undefined || value === null || value === '') return null;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 1 || value === '1') return true;
    if (value === 'false' || value === 0 || value === '0') return false;
    this.problem(found?.key ?? names[0], 'must be true or false');
    return null;
  }

  /** The list at one of `names`: undefined when absent, null (with a problem) when not a list. */
  list(names: string[]): { key: string; items: unknown[] } | undefined | null {
    const found = this.raw(names);
    if (found === undefined || found.value === null) return undefined;
    if (!Array.isArray(found.value)) {
      this.problem(found.key, 'must be a list');
      return null;
    }
    return { key: found.key, items: found.value };
  }
}

/** The body must be a JSON object (an empty body reads as `{}`, as in DevLake). */
export function asObject(body: unknown): Record<string, unknown> {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationFailed([{ field: 'body', message: `must be a JSON object, got ${Array.isArray(body) ? 'a list' : typeof body}` }]);
  }
  return body as Record<string, unknown>;
}

function fail(problems: FieldProblem[]): void {
  if (problems.length) throw new ValidationFailed(problems);
}

export function repoHash(repoUrl: string): string {
  return createHash('md5').update(repoUrl).digest('hex').slice(0, 16);
}

const commitRowId = (repoUrl: string, sha: string) => `${repoHash(repoUrl)}:${sha}`;

function durationSec(started: Date | null, finished: Date): number | null {
  if (!started) return null;
  const s = Math.trunc((finished.getTime() - started.getTime()) / 1000);
  return Math.abs(s) <= 2_147_483_647 ? s : null;
}

/** Later elements replace earlier ones with the same repository and commit, as DevLake's upsert does. */
function uniqueCommits(commits: NewDeploymentCommit[]): NewDeploymentCommit[] {
  return [...new Map(commits.map((c) => [c.id, c])).values()];
}

export type DeploymentShape = 'seed' | 'snake' | 'camel';

const CAMEL_MARKERS = ['id', 'startedDate', 'finishedDate', 'createdDate', 'displayTitle', 'originalEnvironment'];

/** Which of the three deployment shapes of docs/contract.md §5.2 a body is. */
export function deploymentShape(body: Record<string, unknown>): DeploymentShape {
  const exact = (k: string) => Object.prototype.hasOwnProperty.call(body, k);
  const commits = body.deploymentCommits;
  const camelCommits = Array.isArray(commits) && commits.some((c) => c && typeof c === 'object' && ('commitSha' in c || 'repoUrl' in c));
  if (camelCommits || CAMEL_MARKERS.some(exact)) return 'camel';
  if (exact('pipeline_id') || exact('deployment_commits') || exact('deploymentCommits') || exact('result') || exact('create_time')) return 'snake';
  return 'seed';
}

/**
 * A deployment as read from its body. The seed form's default id (`C:<md5-16(repo_url)>:<commit_sha>`)
 * names the connection, which may not exist yet (`projects/{key}/deployments` creates it only for a
 * valid body), so it is left null here and filled in by `withConnectionId`.
 */
export type ParsedDeployment = Omit<NewDeployment, 'id'> & { id: string | null };

/** A deployment in any of the three shapes; `now` is the default `end_time` of the snake_case forms. */
export function readDeployment(input: unknown, now: Date): ParsedDeployment {
  const body = asObject(input);
  return deploymentShape(body) === 'camel' ? parseCamelDeployment(body) : parseSnakeDeployment(body, now);
}

export function withConnectionId(d: ParsedDeployment, connectionId: number): NewDeployment {
  // The first commit's row id is `<md5-16(repo_url)>:<commit_sha>`.
  return { ...d, id: d.id ?? `${connectionId}:${d.commits[0].id}` };
}

/** `readDeployment` then `withConnectionId`, for a connection already known. */
export function parseDeployment(input: unknown, connectionId: number, now: Date): NewDeployment {
  return withConnectionId(readDeployment(input, now), connectionId);
}

function parseSnakeDeployment(body: Record<string, unknown>, now: Date): ParsedDeployment {
  const problems: FieldProblem[] = [];
  const r = new FieldReader(body, problems);
  const pipelineId = r.string(['pipeline_id'], { max: 255 });
  const result = r.string(['result'], { max: 100 }) || 'SUCCESS';
  const environment = r.oneOf(['environment'], ENVIRONMENTS) ?? 'PRODUCTION';
  const startedDate = r.date(['start_time']);
  const finishedDate = r.date(['end_time']) ?? now;
  const createdDate = r.date(['create_time']) ?? startedDate;
  const name = r.string(['name']);
  const refName = r.string(['ref_name']);
  const commitMsg = r.string(['commit_msg'], { max: LONG });
  const list = r.list(['deployment_commits', 'deploymentCommits']);
  const commits: NewDeploymentCommit[] = [];
  const commit = (
    repoUrl: string,
    commitSha: string,
    extra: { refName: string | null; commitMsg: string | null; name: string | null },
  ): NewDeploymentCommit => ({
    id: commitRowId(repoUrl, commitSha),
    repoUrl,
    commitSha,
    refName: extra.refName,
    commitMsg: extra.commitMsg,
    name: extra.name ?? `deployment for ${commitSha}`,
    displayTitle: null,
    result,
    status: 'DONE',
    createdDate,
    startedDate,
    finishedDate,
  });
  if (list) {
    if (list.items.length === 0) r.problem(list.key, 'must not be empty: list at least one {repo_url, commit_sha}');
    list.items.forEach((item, i) => {
      const path = `${list.key}[${i}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item))
        return problems.push({ field: path, message: 'must be an object {repo_url, commit_sha}' });
      const c = new FieldReader(item as Record<string, unknown>, problems, path);
      const repoUrl = c.string(['repo_url'], { required: true, max: 2048 });
      const sha = c.string(['commit_sha'], { required: true, max: 255 });
      const extra = { refName: c.string(['ref_name']), commitMsg: c.string(['commit_msg'], { max: LONG }), name: c.string(['name']) };
      if (repoUrl !== null && sha !== null) commits.push(commit(repoUrl, sha, extra));
    });
  } else if (list === undefined) {
    const repoUrl = r.string(['repo_url'], { required: true, max: 2048 });
    const sha = r.string(['commit_sha'], { required: true, max: 255 });
    if (repoUrl !== null && sha !== null) commits.push(commit(repoUrl, sha, { refName, commitMsg, name: null }));
  }
  fail(problems);
  return {
    id: pipelineId || null,
    name: name || `deployment for ${commits.map((c) => c.commitSha).join(',')}`,
    displayTitle: null,
    result,
    environment,
    originalEnvironment: null,
    createdDate,
    startedDate,
    finishedDate,
    durationSec: durationSec(startedDate, finishedDate),
    commits: uniqueCommits(commits),
  };
}

function parseCamelDeployment(body: Record<string, unknown>): NewDeployment {
  const problems: FieldProblem[] = [];
  const r = new FieldReader(body, problems);
  const id = r.string(['id'], { required: true, max: 255 });
  const result = r.string(['result'], { max: 100 }) || 'SUCCESS';
  const environment = r.oneOf(['environment'], ENVIRONMENTS) ?? 'PRODUCTION';
  const originalEnvironment = r.string(['originalEnvironment']);
  const displayTitle = r.string(['displayTitle']);
  const name = r.string(['name']);
  const startedDate = r.date(['startedDate'], { required: true });
  const finishedDate = r.date(['finishedDate'], { required: true });
  const createdDate = r.date(['createdDate']) ?? startedDate;
  const list = r.list(['deploymentCommits']);
  const commits: NewDeploymentCommit[] = [];
  if (list === undefined) r.problem('deploymentCommits', 'is required: list at least one {repoUrl, commitSha, startedDate, finishedDate}');
  else if (list && list.items.length === 0) r.problem(list.key, 'must not be empty: list at least one {repoUrl, commitSha, startedDate, finishedDate}');
  list?.items.forEach((item, i) => {
    const path = `${list.key}[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push({ field: path, message: 'must be an object {repoUrl, commitSha, startedDate, finishedDate}' });
      return;
    }
    const c = new FieldReader(item as Record<string, unknown>, problems, path);
    const repoUrl = c.string(['repoUrl'], { required: true, max: 2048 });
    const sha = c.string(['commitSha'], { required: true, max: 255 });
    const cStarted = c.date(['startedDate'], { required: true });
    const cFinished = c.date(['finishedDate'], { required: true });
    const cCreated = c.date(['createdDate']) ?? createdDate;
    const row = {
      refName: c.string(['refName']),
      commitMsg: c.string(['commitMsg'], { max: LONG }),
      name: c.string(['name']),
      displayTitle: c.string(['displayTitle']),
      result: c.string(['result'], { max: 100 }) || 'SUCCESS',
      status: c.string(['status'], { max: 100 }) || 'DONE',
    };
    if (repoUrl !== null && sha !== null) {
      commits.push({
        ...row,
        id: commitRowId(repoUrl, sha),
        repoUrl,
        commitSha: sha,
        name: row.name ?? `deployment for ${sha}`,
        createdDate: cCreated,
        startedDate: cStarted,
        finishedDate: cFinished,
      });
    }
  });
  fail(problems);
  return {
    id: id as string,
    name: name || `deploy ${commits.map((c) => c.commitSha).join(',')} to ${environment}`,
    displayTitle,
    result,
    environment,
    originalEnvironment,
    createdDate,
    startedDate,
    finishedDate: finishedDate as Date,
    durationSec: durationSec(startedDate, finishedDate as Date),
    commits: uniqueCommits(commits),
  };
}

/** Whole minutes (truncated) from `from` to `to`, or null when negative. */
export function minutesBetween(from: Date, to: Date): number | null {
  const m = Math.trunc((to.getTime() - from.getTime()) / 60_000);
  return m >= 0 ? m : null;
}

/**
 * An issue in the seed's snake_case or DevLake's current camelCase shape. Errors use the spelling
 * of the shape the body is in.
 */
export function parseIssue(input: unknown): IssueFields {
  const body = asObject(input);
  const problems: FieldProblem[] = [];
  const r = new FieldReader(body, problems);
  const camel = ['issueKey', 'originalStatus', 'createdDate'].some((k) => Object.prototype.hasOwnProperty.call(body, k)) && !('issue_key' in body);
  const n = (snake: string, camelName: string) => (camel ? [camelName, snake] : [snake, camelName]);
  const issueKey = r.string(n('issue_key', 'issueKey'), { required: true, max: 255 });
  const title = r.string(['title'], { required: true });
  const status = r.oneOf(['status'], ISSUE_STATUSES, { required: true });
  const originalStatus = r.string(n('original_status', 'originalStatus'), { required: true });
  const createdDate = r.date(n('created_date', 'createdDate'), { required: true });
  const resolutionDate = r.date(n('resolution_date', 'resolutionDate'));
  const given = r.number(n('lead_time_minutes', 'leadTimeMinutes'), { integer: true, min: 0 });
  const issue = {
    issueKey,
    boardKey: r.string(n('board_key', 'boardKey'), { max: 255 }) || null,
    url: r.string(['url'], { max: 2048 }) || null,
    title,
    description: r.string(['description'], { max: LONG }) || null,
    epicKey: r.string(n('epic_key', 'epicKey')) || null,
    type: r.string(['type']) || null,
    status,
    originalStatus,
    storyPoint: r.number(n('story_point', 'storyPoint')),
    resolutionDate,
    createdDate,
    updatedDate: r.date(n('updated_date', 'updatedDate')),
    // As DevLake: 0 or absent means "not given"; computed when both dates are there.
    leadTimeMinutes: given || (createdDate && resolutionDate ? minutesBetween(createdDate, resolutionDate) : given),
    parentIssueKey: r.string(n('parent_issue_key', 'parentIssueKey')) || null,
    priority: r.string(['priority']) || null,
    originalEstimateMinutes: r.number(n('original_estimate_minutes', 'originalEstimateMinutes'), { integer: true }),
    timeSpentMinutes: r.number(n('time_spent_minutes', 'timeSpentMinutes'), { integer: true }),
    timeRemainingMinutes: r.number(n('time_remaining_minutes', 'timeRemainingMinutes'), { integer: true }),
    creatorId: r.string(n('creator_id', 'creatorId')) || null,
    creatorName: r.string(n('creator_name', 'creatorName')) || null,
    assigneeId: r.string(n('assignee_id', 'assigneeId')) || null,
    assigneeName: r.string(n('assignee_name', 'assigneeName')) || null,
    severity: r.string(['severity']) || null,
    component: r.string(['component']) || null,
  };
  fail(problems);
  return issue as IssueFields;
}

/** What closing does (docs/contract.md §5.2): DONE, resolved now when unset, lead time computed when unset. */
export function closedIssue(issue: IssueFields, now: Date): IssueFields {
  if (issue.status === 'DONE') return issue;
  const resolutionDate = issue.resolutionDate ?? now;
  return {
    ...issue,
    status: 'DONE',
    originalStatus: issue.originalStatus,
    resolutionDate,
    leadTimeMinutes: issue.leadTimeMinutes || minutesBetween(issue.createdDate, resolutionDate),
  };
}

/** A pull request in DevLake's current (camelCase) form. */
export function parsePullRequest(input: unknown): NewPullRequest {
  const body = asObject(input);
  const problems: FieldProblem[] = [];
  const r = new FieldReader(body, problems);
  const externalId = r.string(['id'], { required: true, max: 255 });
  const title = r.string(['displayTitle'], { required: true });
  const key = r.number(['pullRequestKey'], { integer: true });
  if (key === 0 || (key === null && !problems.some((p) => p.field.toLowerCase() === 'pullrequestkey'))) {
    r.problem(r.raw(['pullRequestKey'])?.key ?? 'pullRequestKey', 'is required: a non-zero whole number');
  }
  const pr: NewPullRequest = {
    pullRequestKey: key as number,
    externalId: externalId as string,
    title: title as string,
    status: r.oneOf(['status'], PULL_REQUEST_STATUSES),
    originalStatus: r.string(['originalStatus']),
    description: r.string(['description'], { max: LONG }),
    url: r.string(['url'], { max: 2048 }),
    authorName: r.string(['authorName']),
    authorId: r.string(['authorId']),
    mergeCommitSha: r.string(['mergeCommitSha'], { max: 255 }) || null,
    headRef: r.string(['headRef']),
    baseRef: r.string(['baseRef']),
    headCommitSha: r.string(['headCommitSha'], { max: 255 }),
    baseCommitSha: r.string(['baseCommitSha'], { max: 255 }),
    additions: r.number(['additions'], { integer: true, min: 0, max: INT_MAX }),
    deletions: r.number(['deletions'], { integer: true, min: 0, max: INT_MAX }),
    isDraft: r.boolean(['isDraft']),
    createdDate: r.date(['createdDate'], { required: true }) as Date,
    mergedDate: r.date(['mergedDate']),
    closedDate: r.date(['closedDate']),
    firstCommitDate: r.date(['firstCommitDate']),
  };
  if (pr.pullRequestKey !== null && Math.abs(pr.pullRequestKey) > 9_007_199_254_740_991) r.problem('pullRequestKey', 'is too large');
  fail(problems);
  return pr;
}
