import { Route, Routes } from "react-router";

import RuleEditorPage from "./rules/RuleEditor";
import RulesList from "./rules/RulesList";
import "./rules/rules.css";

export default function Rules() {
  return (
    <Routes>
      <Route index element={<RulesList />} />
      <Route path="new" element={<RuleEditorPage />} />
      <Route path=":ruleId" element={<RuleEditorPage />} />
    </Routes>
  );
}
