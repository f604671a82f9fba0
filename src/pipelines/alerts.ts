import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { NewEvent } from '../ledger/types.js';
import type { EventData } from '../events/catalogue.js';
import { alertEvent } from '../events/new-event.js';

export type AlertKind = EventData['alert.raised']['kind'];
export type Severity = EventData['alert.raised']['severity'];

export interface AlertLevel {
  readonly severity: Severity | null;
  readonly message?: string;
  readonly value?: number;
  readonly threshold?: number;
}

/**
 * Moves the alert about (kind, subject) to `level` inside the caller's
 * transaction and returns the events to append: `alert.cleared` for the old
 * severity, `alert.raised` for the new one, nothing when it is unchanged. The
 * row lock makes concurrent sweepers record each crossing once.
 */
export async function changeAlert(client: pg.PoolClient, kind: AlertKind, subject: string, level: AlertLevel): Promise<NewEvent[]> {
  await client.query('insert into pipelines.alerts (kind, subject) values ($1, $2) on conflict do nothing', [kind, subject]);
  const { rows } = await client.query<{ severity: Severity | null; alert_id: string | null }>(
    'select severity, alert_id from pipelines.alerts where kind = $1 and subject = $2 for update',
    [kind, subject],
  );
  const current = rows[0]!;
  if (current.severity === level.severity) return [];
  const events: NewEvent[] = [];
  if (current.severity !== null && current.alert_id !== null) {
    events.push(alertEvent('alert.cleared', { alertId: current.alert_id, kind, subject }));
  }
  let alertId: string | null = null;
  if (level.severity !== null) {
    alertId = randomUUID();
    events.push(
      alertEvent('alert.raised', {
        alertId,
        kind,
        severity: level.severity,
        subject,
        message: level.message ?? `${kind} ${subject}`,
        ...(level.value === undefined ? {} : { value: level.value }),
        ...(level.threshold === undefined ? {} : { threshold: level.threshold }),
      }),
    );
  }
  await client.query('update pipelines.alerts set severity = $3, alert_id = $4, changed_at = now() where kind = $1 and subject = $2', [
    kind,
    subject,
    level.severity,
    alertId,
  ]);
  return events;
}
