import { v7 } from 'uuid';
import { idFloor } from './time-ordered-ids';

describe('idFloor', () => {
  it('is the smallest UUID v7 of its millisecond: ids made at or after it sort after it, earlier ones before', () => {
    const at = new Date('2024-05-01T12:00:00.123Z');
    const floor = idFloor(at);
    expect(floor).toBe('018f3406-9e7b-0000-0000-000000000000');
    const same = v7({ msecs: at.getTime() });
    const later = v7({ msecs: at.getTime() + 1 });
    const earlier = v7({ msecs: at.getTime() - 1 });
    // Postgres compares uuids bytewise, as these lowercase hex strings compare.
    expect([earlier < floor, same >= floor, later > floor]).toEqual([true, true, true]);
  });
});
