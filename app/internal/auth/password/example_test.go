package password_test

import (
	"context"
	"fmt"

	"github.com/slotbook/slotbook/app/internal/auth/password"
)

// Setting a password: check the policy, then store the hash.
func ExamplePolicy_Check() {
	policy := password.Policy{BusinessName: "Salon Morgenrot"}
	for _, pw := range []string{"Passwort2024!", "Morgenrot forever", "kurz", "violet tractor muffin sings"} {
		fmt.Printf("%q: %v\n", pw, policy.Check(pw, "anna.schmidt@example.com"))
	}
	// Output:
	// "Passwort2024!": [{common is too common, easy to guess map[]}]
	// "Morgenrot forever": [{contains_context must not contain the business name or your own details map[source:business_name]}]
	// "kurz": [{too_short is too short map[min:12]}]
	// "violet tractor muffin sings": []
}

// Logging in: verify, and upgrade the stored hash when the parameters changed.
func ExampleHasher_Verify() {
	ctx := context.Background()
	hasher, err := password.NewHasher(password.DefaultParams, 0)
	if err != nil {
		panic(err)
	}
	stored, err := hasher.Hash(ctx, "violet tractor muffin sings")
	if err != nil {
		panic(err)
	}

	ok, needsRehash, err := hasher.Verify(ctx, "violet tractor muffin sings", stored)
	if err != nil {
		panic(err) // malformed stored hash, or ctx ended while waiting
	}
	if ok && needsRehash {
		stored, _ = hasher.Hash(ctx, "violet tractor muffin sings") // and save it
	}
	fmt.Println(ok, needsRehash)

	ok, _, _ = hasher.Verify(ctx, "violet tractor muffin sing", stored)
	fmt.Println(ok)
	// Output:
	// true false
	// false
}
