// Command rootcount prints how many roots crypto/x509 finds on the system it
// runs on, as every Go binary in the image finds them.
package main

import (
	"crypto/x509"
	"fmt"
	"os"
)

func main() {
	p, err := x509.SystemCertPool()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	//nolint:staticcheck // Subjects is deprecated for pools from SystemCertPool, but still counts what was read from files on Linux.
	fmt.Println(len(p.Subjects()))
}
