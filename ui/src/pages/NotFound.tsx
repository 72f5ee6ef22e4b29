import { Link } from "react-router";

import { Empty } from "../components/states";

export function NotFound() {
  return <Empty title="No such page" hint="The address names no page of headwater."
    action={<Link className="btn" to="/">Go to the dashboard</Link>} />;
}
