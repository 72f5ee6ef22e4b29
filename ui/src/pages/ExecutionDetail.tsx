import { Page } from "../components/Page";
import { Empty } from "../components/states";

export default function ExecutionDetail() {
  return (
    <Page title="ExecutionDetail">
      <Empty title="Coming in this change" hint="This page is being rebuilt on the new app." />
    </Page>
  );
}
