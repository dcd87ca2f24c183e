import { EVENT_CATALOGUE, type EventLevel, type EventPerson, type EventProject, type HeraldEvent } from '@herald/domain';
import { safeLink } from './link';
import { ELLIPSIS, cleanText, oneLine, shareFairly, truncateChars } from './text';

export type Locale = 'en' | 'zh';

export interface MessageFact {
  name: string;
  value: string;
}

/**
 * What every channel shows (docs/contract.md §7.1), before any platform's markup, escaping or limits: the
 * title in the webhook's language, the description, the issue or rollout tile, the facts and the
 * link. Texts are raw; each adapter escapes and cuts them for its platform.
 */
export interface MessageView {
  level: EventLevel;
  locale: Locale;
  title: string;
  /** Emoji prefix for the level (none for INFO). */
  emoji: string;
  /** The level's colour, `#rrggbb`. */
  color: string;
  description: string;
  tile: { title: string; description: string } | null;
  facts: MessageFact[];
  /**
   * What ends a cut description: an ellipsis plus, when there is a link, a hint that the rest is
   * behind it (as Bytebase's "... (view details in Bytebase)").
   */
  more: string;
  /** `Name (email)` of whoever acted, or null. */
  actor: string | null;
  link: string | null;
  linkLabel: string;
  mentions: EventPerson[];
}

/** Bytebase's colours and emoji, so teams moving over see the same signals. */
export const LEVEL_STYLE: Record<EventLevel, { emoji: string; color: string }> = {
  INFO: { emoji: '', color: '#1264A3' },
  SUCCESS: { emoji: '✅', color: '#2EB67D' },
  WARN: { emoji: '⚠️', color: '#ECB22E' },
  ERROR: { emoji: '❗', color: '#E01E5A' },
};

type Label = 'project' | 'issue' | 'status' | 'creator' | 'approvers' | 'rollout' | 'environment' | 'stage' | 'task' | 'actor' | 'link' | 'more';
const LABELS: Record<Locale, Record<Label, string>> = {
  en: {
    project: 'Project',
    issue: 'Issue',
    status: 'Status',
    creator: 'Creator',
    approvers: 'Approvers',
    rollout: 'Rollout',
    environment: 'Environment',
    stage: 'Stage',
    task: 'Task',
    actor: 'By',
    link: 'View details',
    more: `${ELLIPSIS} (see View details for the full text)`,
  },
  zh: {
    project: '项目',
    issue: '工单',
    status: '状态',
    creator: '创建者',
    approvers: '审批人',
    rollout: '发布',
    environment: '环境',
    stage: '阶段',
    task: '任务',
    actor: '操作人',
    link: '查看详情',
    more: `${ELLIPSIS}（全文请见“查看详情”）`,
  },
};

/** An issue description inside the tile is a preview, as in Bytebase (450 characters). */
export const TILE_DESCRIPTION_CHARS = 450;
/** The tile's title is a name; a longer one is cut. */
export const TILE_TITLE_CHARS = 500;
/** A fact is a short value; a long one is cut (Discord's field limit is 1024). */
export const FACT_VALUE_CHARS = 1024;
/** The facts together: short ones stay whole, long ones share the rest equally. */
export const FACTS_TOTAL_CHARS = 2000;
/** Titles are at most 1 000 characters at intake; stored events may hold more. */
export const TITLE_CHARS = 1000;
/**
 * No platform shows more of a description than this (DingTalk's 20 000-byte body is the largest,
 * and a character is at least a byte). Every text is cut to a bound like this one before anything
 * else reads it, so the cost of rendering does not grow with what a producer sent (issue 10 item 5).
 */
export const DESCRIPTION_CHARS = 20_000;
/** Bound for one-line texts before their line breaks are folded (facts, names, the tile title). */
const LINE_INPUT_CHARS = 2 * FACT_VALUE_CHARS;

/** The text cut to `max` before anything else reads it, without control characters or half characters. */
function bounded(text: string | null | undefined, max: number, ellipsis = ELLIPSIS): string {
  return text ? cleanText(truncateChars(text, max, ellipsis)) : '';
}

/** One line of at most `max` characters. */
function line(text: string | number | null | undefined, max: number): string {
  return text == null ? '' : truncateChars(oneLine(bounded(String(text), LINE_INPUT_CHARS)), max);
}

export function person(p: { name?: string | null; email?: string | null } | null | undefined): string | null {
  if (!p) return null;
  const name = line(p.name, FACT_VALUE_CHARS);
  const email = line(p.email, FACT_VALUE_CHARS);
  if (name && email) return `${name} (${email})`;
  return name || email || null;
}

/**
 * The event's title in `locale`. A blank title means the catalogue's default title (docs/contract.md §4.2), in
 * the webhook's language; so does the default English title for a Chinese webhook. A title the
 * producer wrote itself is shown as written. Events stored before intake applied the default can
 * still carry `""`: Teams refuses an empty summary and Google Chat an empty header title.
 */
export function localizedTitle(event: HeraldEvent, locale: Locale): string {
  const entry = EVENT_CATALOGUE[event.type];
  const own = line(event.title, TITLE_CHARS);
  if (!entry) return own || line(event.type, TITLE_CHARS);
  // Catalogue titles can carry event data too ("Deployment to {environment}").
  const zh = () => line(entry.titleZh(event), TITLE_CHARS);
  if (!own) return locale === 'zh' ? zh() : line(entry.title(event), TITLE_CHARS);
  if (locale !== 'zh') return own;
  return own === line(entry.title(event), TITLE_CHARS) ? zh() : own;
}

/**
 * `text`: what the webhook's template for this event type rendered (issue 16). It replaces the
 * built-in text (description, tile and facts), under the same bound and the adapters' escaping;
 * the title, level, link and mentions stay as built.
 */
export function buildMessage(event: HeraldEvent, project: EventProject, locale: Locale, text?: string): MessageView {
  const l = LABELS[locale];
  const facts: MessageFact[] = [];
  const add = (name: string, value: string | null | undefined) => {
    const v = line(value, FACT_VALUE_CHARS);
    if (v) facts.push({ name, value: v });
  };
  add(l.project, project.name || project.key);
  const issue = event.issue ?? null;
  if (issue) {
    add(l.issue, [line(issue.key, FACT_VALUE_CHARS), line(issue.name, FACT_VALUE_CHARS)].filter(Boolean).join(' '));
    add(l.status, issue.status);
    add(l.creator, person(issue.creator));
  }
  // Approvers are who must act on this event: the channel sees who was asked.
  if (event.type === 'bb.issue.approval.notify' && event.mentions?.length) add(l.approvers, approvers(event.mentions));
  if (event.rollout?.title) add(l.rollout, event.rollout.title);
  const environment = event.rollout?.environment ?? (typeof event.deployment?.environment === 'string' ? event.deployment.environment : null);
  add(l.environment, environment);
  if (event.stage?.name) add(l.stage, [line(event.stage.name, FACT_VALUE_CHARS), line(event.stage.status, FACT_VALUE_CHARS)].filter(Boolean).join(' · '));
  if (event.task?.name) add(l.task, [line(event.task.name, FACT_VALUE_CHARS), line(event.task.status, FACT_VALUE_CHARS)].filter(Boolean).join(' · '));
  const actor = person(event.actor);
  add(l.actor, actor);

  const link = safeLink(event.link);
  const more = link ? l.more : ELLIPSIS;
  let tile: MessageView['tile'] = null;
  const tileTitle = line(issue?.name, TILE_TITLE_CHARS);
  if (tileTitle)
    tile = { title: tileTitle, description: truncateChars(bounded(issue?.description, TILE_DESCRIPTION_CHARS * 2).trim(), TILE_DESCRIPTION_CHARS, more) };
  else if (event.rollout?.title) tile = { title: line(event.rollout.title, TILE_TITLE_CHARS), description: '' };

  const { emoji, color } = LEVEL_STYLE[event.level] ?? LEVEL_STYLE.INFO;
  const templated = text !== undefined;
  return {
    level: event.level,
    locale,
    title: localizedTitle(event, locale),
    emoji,
    color,
    description: bounded(templated ? text : (event.description ?? event.comment?.text), DESCRIPTION_CHARS, more).trim(),
    tile: templated ? null : tile,
    facts: templated ? [] : shareFacts(facts, FACTS_TOTAL_CHARS),
    more,
    actor,
    link,
    linkLabel: l.link,
    mentions: event.mentions ?? [],
  };
}

/** The approvers' names, as many as a fact can show: reading 100 names of 65 536 characters would cost more than the message. */
function approvers(mentions: readonly EventPerson[]): string {
  const names: string[] = [];
  let length = 0;
  for (const m of mentions) {
    if (length > FACT_VALUE_CHARS) break;
    const name = line(m.name, FACT_VALUE_CHARS) || line(m.email, FACT_VALUE_CHARS);
    if (!name) continue;
    names.push(name);
    length += name.length + 2;
  }
  return names.join(', ');
}

/** The facts cut so their values hold at most `total` characters together (see shareFairly). */
export function shareFacts(facts: readonly MessageFact[], total: number): MessageFact[] {
  const caps = shareFairly(
    facts.map((f) => f.value.length),
    total,
  );
  return facts.map((f, i) => ({ name: f.name, value: truncateChars(f.value, caps[i]) })).filter((f) => f.value !== '');
}

/** `emoji title`, or just the title for INFO. */
export function titleWithEmoji(view: MessageView): string {
  return view.emoji ? `${view.emoji} ${view.title}` : view.title;
}

/** `#rrggbb` as the integer Discord wants. */
export function colorInt(hex: string): number {
  return parseInt(hex.replace('#', ''), 16);
}

/**
 * The national number DingTalk expects in `atMobiles` and `@` tokens: `+86 138-0000-0000` and
 * `8613800000000` become `13800000000`; other countries keep `+<cc>-<number>`, DingTalk's format
 * for non-mainland numbers. Anything that is not a phone number is dropped.
 */
export function dingtalkMobile(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const trimmed = phone.trim();
  const plus = trimmed.startsWith('+') || trimmed.startsWith('00');
  const digits = trimmed.replace(/^00/, '').replace(/\D/g, '');
  if (digits.length < 5 || digits.length > 15) return null;
  if (!plus) return digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
  if (digits.startsWith('86')) return digits.slice(2);
  // Without a numbering-plan table the country code length is unknown; 1 (NANP) and the 2-digit
  // codes cover DingTalk's markets, other numbers are passed whole.
  if (digits.startsWith('1')) return `+1-${digits.slice(1)}`;
  const cc3 = /^(852|853|886)/.exec(digits);
  if (cc3) return `+${cc3[1]}-${digits.slice(cc3[1].length)}`;
  return `+${digits.slice(0, 2)}-${digits.slice(2)}`;
}
