import { render, screen } from '@testing-library/react';
import type { Delivery } from '@herald/sdk';
import { DeliveryTable } from './list';

jest.mock('react-router', () => ({ useNavigate: () => jest.fn(), useParams: () => ({}), useSearchParams: () => [new URLSearchParams(), jest.fn()] }));

const rows: Delivery[] = Array.from({ length: 10_000 }, (_, i) => ({
  id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
  eventId: 'e',
  webhookId: 'w',
  eventType: 'bb.issue.create',
  status: i % 7 === 0 ? 'failed' : 'succeeded',
  attemptCount: 1,
  nextAttemptAt: null,
  createdAt: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
  deliveredAt: null,
  lastError: null,
  subject: null,
}));

// jsdom lays nothing out: give the scroll container the height a browser would.
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 600 });
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1000 });
});

describe('DeliveryTable', () => {
  it('renders only the rows in view of 10 000 (virtualised)', () => {
    render(
      <DeliveryTable
        rows={rows}
        names={new Map()}
        loading={false}
        error={null}
        filtered={false}
        onRetry={jest.fn()}
        onClear={jest.fn()}
        onOpen={jest.fn()}
        hrefOf={(id) => `/d/${id}`}
      />,
    );
    const shown = screen.getAllByTestId('delivery-row');
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.length).toBeLessThan(60);
    expect(screen.getByRole('table')).toHaveAttribute('aria-rowcount', '10001');
  });

  it('says so when no delivery matches the filters, with a way to clear them', () => {
    const onClear = jest.fn();
    render(
      <DeliveryTable
        rows={[]}
        names={new Map()}
        loading={false}
        error={null}
        filtered
        onRetry={jest.fn()}
        onClear={onClear}
        onOpen={jest.fn()}
        hrefOf={(id) => id}
      />,
    );
    screen.getByRole('button', { name: 'Clear filters' }).click();
    expect(screen.getByText(/No deliveries match these filters/)).toBeInTheDocument();
    expect(onClear).toHaveBeenCalled();
  });
});
