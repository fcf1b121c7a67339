import { AuthForm } from "@/components/AuthForm";

export const metadata = { title: "Sign in · livedrop" };

export default function SignInPage() {
  return <AuthForm mode="signin" />;
}
