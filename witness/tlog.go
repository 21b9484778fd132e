package witness

import "fmt"

func validateTlog(s Spec) error {
	return fmt.Errorf("%w: tlog witnesses are not supported by this build", ErrBadSpec)
}

func newTlog(s Spec, state string) (Witness, error) { return nil, validateTlog(s) }
