import { EVENT_LEVELS, type EventLevel, type EventProject, type HeraldEvent } from '@herald/domain';
import { safeLink } from '../render/link';
import { LEVEL_STYLE, localizedTitle, type Locale } from '../render/message';
import { cleanText, oneLine, truncateChars } from '../render/text';

/**
 * What a digest shows (issue 16), before any platform's markup: a title and a summary line that
 * count every delivery the message carries, then one line per delivery — its title and what it is
 * about, linking to it. Platforms fit as many lines as their budget allows; the rest are counted
 * ("and 12 more"), never dropped silently: they were delivered by this message.
 */
export interface DigestItem {
  level: EventLevel;
  /** The event's title in the webhook's language, with its level's emoji (none for INFO). */
  title: string;
  /** What it is about: the issue's key and name, the rollout or deployment, else the start of the description. */
  subject: string;
  /** The event's link, when it is an absolute http(s) URL (safeLink). */
  link: string | null;
}

export interface DigestView {
  locale: Locale;
  /** `Payments: 42 notifications`. */
  title: string;
  /** How many of each kind: `30 × Issue created · 12 × Issue resolved`. */
  summary: string;
  /** The most severe level among the items: the message's colour and emoji. */
  level: EventLevel;
  emoji: string;
  color: string;
  /** In the order the events were accepted. */
  items: DigestItem[];
}

/** An item's title and subject are short on every platform. */
export const DIGEST_ITEM_TITLE_CHARS = 120;
export const DIGEST_ITEM_SUBJECT_CHARS = 160;
/** The summary names at most this many kinds; the rest are counted together. */
const SUMMARY_KINDS = 6;

const WORDS = {
  en: {
    title: (project: string, n: number) => `${project}: ${n} notification${n === 1 ? '' : 's'}`,
    kind: (title: string, n: number) => `${n} × ${title}`,
    otherKinds: (n: number) => `${n} × other`,
    more: (n: number) => `… and ${n} more`,
    separator: ' · ',
  },
  zh: {
    title: (project: string, n: number) => `${project}：${n} 条通知`,
    kind: (title: string, n: number) => `${title} ${n} 条`,
    otherKinds: (n: number) => `其他 ${n} 条`,
    more: (n: number) => `…还有 ${n} 条`,
    separator: ' · ',
  },
} as const;

/** The line that counts the items a platform could not show. */
export function moreLine(locale: Locale, hidden: number): string {
  return WORDS[locale].more(hidden);
}

const line = (text: unknown, max: number) =>
  typeof text === 'string' || typeof text === 'number' ? truncateChars(oneLine(cleanText(truncateChars(String(text), max * 2))), max) : '';

/** What the event is about, as one short line. */
function subjectText(event: HeraldEvent): string {
  const issue = event.issue;
  const parts: string[] = [];
  if (issue && (issue.key || issue.name || issue.id !== undefined)) {
    parts.push(line(issue.key ?? (issue.name ? '' : issue.id), 60), line(issue.name, DIGEST_ITEM_SUBJECT_CHARS));
  } else if (event.rollout?.title || event.deployment) {
    const deployment = event.deployment ?? {};
    parts.push(line(event.rollout?.title ?? deployment.displayTitle ?? deployment.name ?? deployment.id, DIGEST_ITEM_SUBJECT_CHARS));
    const environment = event.rollout?.environment ?? deployment.environment;
    if (environment) parts.push(`(${line(environment, 40)})`);
  } else {
    parts.push(line(event.description ?? event.comment?.text, DIGEST_ITEM_SUBJECT_CHARS));
  }
  return truncateChars(parts.filter(Boolean).join(' '), DIGEST_ITEM_SUBJECT_CHARS);
}

export function buildDigest(events: readonly HeraldEvent[], project: EventProject, locale: Locale): DigestView {
  const words = WORDS[locale];
  const items: DigestItem[] = events.map((event) => {
    const level = EVENT_LEVELS.includes(event.level) ? event.level : 'INFO';
    const title = localizedTitle(event, locale);
    return {
      level,
      title: truncateChars(LEVEL_STYLE[level].emoji ? `${LEVEL_STYLE[level].emoji} ${title}` : title, DIGEST_ITEM_TITLE_CHARS),
      subject: subjectText(event),
      link: safeLink(event.link),
    };
  });
  // Counted by the title a kind shows (the catalogue's, or the producer's own), most frequent first.
  const counts = new Map<string, number>();
  for (const event of events) {
    const kind = truncateChars(localizedTitle(event, locale), 60);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const kinds = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const shown = kinds.slice(0, SUMMARY_KINDS).map(([kind, n]) => words.kind(kind, n));
  const other = kinds.slice(SUMMARY_KINDS).reduce((n, [, k]) => n + k, 0);
  if (other) shown.push(words.otherKinds(other));
  // INFO < SUCCESS < WARN < ERROR: one failure among successes colours the message.
  const level = items.reduce<EventLevel>((worst, item) => (EVENT_LEVELS.indexOf(item.level) > EVENT_LEVELS.indexOf(worst) ? item.level : worst), 'INFO');
  const { emoji, color } = LEVEL_STYLE[level];
  return {
    locale,
    title: truncateChars(words.title(line(project.name || project.key, 100), events.length), 200),
    summary: shown.join(words.separator),
    level,
    emoji,
    color,
    items,
  };
}

/** The title with the message's emoji (none for INFO). */
export function digestTitle(view: DigestView): string {
  return view.emoji ? `${view.emoji} ${view.title}` : view.title;
}

/** `title — subject`, or the title alone. */
export function itemText(item: DigestItem): string {
  return item.subject ? `${item.title} — ${item.subject}` : item.title;
}

/**
 * The largest count of items, from 0 to `total`, whose body fits (`fits` is monotone in practice:
 * each item adds a line). Binary search: a few renders whatever `total` is.
 */
export function fittingCount(total: number, fits: (n: number) => boolean): number {
  if (fits(total)) return total;
  let low = 0;
  let high = total;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid;
  }
  return low;
}
