pragma circom 2.1.0;

// Multi-dimensional input arrays (flattened row-major by circom), for the
// witness calculator's tests: a 3x4 grid scaled row by row and a 2x2x2 cube
// folded into one weighted sum.
template Arrays(rows, cols, depth) {
    signal input grid[rows][cols];
    signal input cube[depth][depth][depth];
    signal input scale;
    signal output rowSums[rows];
    signal output weighted;

    signal scaled[rows][cols];
    for (var i = 0; i < rows; i++) {
        var sum = 0;
        for (var j = 0; j < cols; j++) {
            scaled[i][j] <== grid[i][j] * scale;
            sum += scaled[i][j];
        }
        rowSums[i] <== sum;
    }

    signal squares[depth][depth][depth];
    var total = 0;
    for (var i = 0; i < depth; i++) {
        for (var j = 0; j < depth; j++) {
            for (var k = 0; k < depth; k++) {
                squares[i][j][k] <== cube[i][j][k] * cube[i][j][k];
                total += squares[i][j][k] * (i * depth * depth + j * depth + k + 1);
            }
        }
    }
    weighted <== total;
}

component main { public [scale] } = Arrays(3, 4, 2);
