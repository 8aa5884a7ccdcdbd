import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useState} from 'preact/hooks';

import {adminTessera} from '../../common/admin-api.js';
import {adjustmentProblems, numericId} from '../../common/points.js';
import {newIdempotencyKey} from '../../common/tessera-api.js';

export default async () => {
  render(<AdjustPointsAction />, document.body);
};

const tessera = adminTessera();
const t = (key, params) => shopify.i18n.translate(key, params);

function AdjustPointsAction() {
  const customerId = numericId(shopify.data.selected[0]?.id);
  const [points, setPoints] = useState('');
  const [reason, setReason] = useState('');
  const [problems, setProblems] = useState({});
  const [failure, setFailure] = useState(null);
  const [saving, setSaving] = useState(false);
  // One key for this form: a double click or a retry after a timeout adjusts once.
  const [idempotencyKey] = useState(newIdempotencyKey);
  async function save() {
    const found = adjustmentProblems({points, reason});
    setProblems(found);
    if (Object.keys(found).length) return;
    setSaving(true);
    setFailure(null);
    try {
      await tessera.post(`/api/v1/members/${customerId}/adjustments`,
        {points: Number(points), reason: reason.trim(), idempotency_key: idempotencyKey});
      // Closing returns to the customer page, whose Tessera block reloads with the new balance.
      shopify.close();
    } catch (error) {
      setFailure(error.message || t('unavailable'));
    } finally {
      setSaving(false);
    }
  }
  return (
    <s-admin-action heading={t('heading')}>
      <s-stack gap="base">
        {failure && <s-banner tone="critical">{failure}</s-banner>}
        <s-number-field label={t('points_label')} details={t('points_help')} value={points} step={1}
          error={problems.points && t(problems.points)} onInput={(event) => setPoints(event.currentTarget.value)} />
        <s-text-area label={t('reason_label')} required value={reason} maxLength={500}
          error={problems.reason && t(problems.reason)} onInput={(event) => setReason(event.currentTarget.value)} />
      </s-stack>
      <s-button slot="primary-action" variant="primary" loading={saving} onClick={save}>{t('save')}</s-button>
      <s-button slot="secondary-actions" onClick={() => shopify.close()}>{t('cancel')}</s-button>
    </s-admin-action>
  );
}
