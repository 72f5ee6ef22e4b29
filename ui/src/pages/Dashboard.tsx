import { Page } from "../components/Page";
import { Empty } from "../components/states";

export default function Dashboard() {
  return (
    <Page title="Dashboard">
      <Empty title="Coming in this change" hint="This page is being rebuilt on the new app." />
    </Page>
  );
}
