import { ActivityScreen } from "@/components/ActivityScreen";

export const metadata = { title: "Activity · livedrop" };

export default function ActivityPage() {
  return <ActivityScreen />;
}
