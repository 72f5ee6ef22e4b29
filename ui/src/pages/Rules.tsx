import { Page } from "../components/Page";
import { Empty } from "../components/states";

export default function Rules() {
  return (
    <Page title="Rules">
      <Empty title="Coming in this change" hint="This page is being rebuilt on the new app." />
    </Page>
  );
}
