import { CityMap } from '../components/city-map.js';
import { ErrorMessage } from '../components/error-message.js';
import { useDevices, useFeed, useNow } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { PageHeading } from './page.js';

export function MapPage({ focusTicket }: { focusTicket: string | null }) {
  const { t } = useI18n();
  const session = useSession();
  const feed = useFeed(session.feed);
  const now = useNow(5_000);
  const { devices, error } = useDevices(session.client, session.isAdmin);
  return (
    <>
      <PageHeading title={t('mapTitle')} />
      {error !== undefined && <ErrorMessage error={error} />}
      <CityMap
        subcenters={session.subcenters}
        zones={session.zones}
        devices={devices ?? []}
        tickets={feed.list()}
        now={now}
        ownSubcenter={session.unitId}
        focusTicket={focusTicket}
        basemap={session.config.map}
        label={`${t('mapTitle')}: ${session.config.city.name}`}
      />
    </>
  );
}
