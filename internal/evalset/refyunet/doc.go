// Package refyunet is the benchmark's plain YuNet: the reference row of
// every table (YuNet 2022mar at score 0.3 over two scales) and the
// independent detector that labels the faces in the clips (a YuNet at
// score 0.8 that is not the model under test). It decodes both YuNet
// output layouts itself, from OpenCV's reference decoders, and shares no
// code with package detect, so that a change there cannot move the
// reference.
package refyunet
