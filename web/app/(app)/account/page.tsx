import { AccountScreen } from "@/components/AccountScreen";

export const metadata = { title: "Account · livedrop" };

export default function AccountPage() {
  return <AccountScreen />;
}
