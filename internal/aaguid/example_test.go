package aaguid_test

import (
	"fmt"

	"github.com/keyshift/keyshift/internal/aaguid"
)

func ExampleName() {
	b, err := aaguid.Parse("EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4")
	if err != nil {
		panic(err)
	}
	fmt.Println(aaguid.Name(b))
	fmt.Println(aaguid.Format(b))
	fmt.Println(aaguid.Name(make([]byte, 16))) // an authenticator that hides its model
	// Output:
	// Google Password Manager
	// ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4
	// Unknown provider
}
