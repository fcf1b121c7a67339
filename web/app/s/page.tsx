import { RecipientView } from "@/components/RecipientView";

export const metadata = { title: "A file for you · livedrop" };

/**
 * The public link page. The server answers /s/<token> with this page; the
 * token is read from the address. It loads no live data and no account code.
 */
export default function RecipientPage() {
  return (
    <div className="center-page">
      <RecipientView />
    </div>
  );
}
