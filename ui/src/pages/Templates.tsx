import { Page } from "../components/Page";
import { Empty } from "../components/states";

export default function Templates() {
  return (
    <Page title="Templates">
      <Empty title="Coming in this change" hint="This page is being rebuilt on the new app." />
    </Page>
  );
}
