// Command age-plugin-custodytest is an age plugin for tests: it stands in
// for a hardware token's plugin (age-plugin-yubikey and the like). Its
// recipients and identities wrap an ordinary X25519 key, so tests can
// exercise custody's plugin path without hardware.
//
//	age-plugin-custodytest --generate   prints an identity and its recipient
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

func main() {
	p, err := plugin.New("custodytest")
	if err != nil {
		log.Fatal(err)
	}
	generate := flag.Bool("generate", false, "print a new identity and its recipient")
	p.RegisterFlags(nil)
	flag.Parse()
	if *generate {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(plugin.EncodeIdentity("custodytest", []byte(id.String())))
		fmt.Println(plugin.EncodeRecipient("custodytest", []byte(id.Recipient().String())))
		return
	}
	p.HandleRecipient(func(data []byte) (age.Recipient, error) {
		return age.ParseX25519Recipient(string(data))
	})
	p.HandleIdentity(func(data []byte) (age.Identity, error) {
		return age.ParseX25519Identity(string(data))
	})
	os.Exit(p.Main())
}
