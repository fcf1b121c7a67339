import { FilesScreen } from "@/components/FilesScreen";

export const metadata = { title: "Shared with me · livedrop" };

export default function SharedPage() {
  return <FilesScreen scope="shared" />;
}
