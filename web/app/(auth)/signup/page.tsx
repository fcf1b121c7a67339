import { AuthForm } from "@/components/AuthForm";

export const metadata = { title: "Sign up · livedrop" };

export default function SignUpPage() {
  return <AuthForm mode="signup" />;
}
