import { FilesScreen } from "@/components/FilesScreen";

export const metadata = { title: "My files · livedrop" };

export default function FilesPage() {
  return <FilesScreen scope="mine" />;
}
