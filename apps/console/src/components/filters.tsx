import { EVENT_TYPE_LIST, EVENT_TYPES } from '../lib/catalogue';
import { RANGE_LABELS, RANGES, type RangeKey } from '../features/deliveries/filters';

/** A labelled filter select of the catalogue's event types ('' = any). */
export function EventTypeFilter({ id, label, value, onChange }: { id: string; label: string; value: string; onChange: (value: string) => void }) {
  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any</option>
        {EVENT_TYPE_LIST.map((t) => (
          <option key={t} value={t}>
            {EVENT_TYPES[t].label} ({t})
          </option>
        ))}
      </select>
    </div>
  );
}

/** A labelled filter select of the time presets ('' = any time). */
export function RangeFilter({ id, label, value, onChange }: { id: string; label: string; value: string; onChange: (value: string) => void }) {
  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any time</option>
        {(Object.keys(RANGES) as RangeKey[]).map((r) => (
          <option key={r} value={r}>
            {RANGE_LABELS[r]}
          </option>
        ))}
      </select>
    </div>
  );
}
