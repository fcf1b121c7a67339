import { Suspense } from "react";
import { VerifyScreen } from "@/components/VerifyScreen";

export const metadata = { title: "Confirm your address · livedrop" };

export default function VerifyPage() {
  return (
    <Suspense>
      <VerifyScreen />
    </Suspense>
  );
}
