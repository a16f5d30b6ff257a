package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

public class DatabasePasswordTest {
    @Test
    public void isOpensslsHmacOfTheUserKeyedWithTheSecret() {
        // printf '%s' "mtm database.password mtmuser" | openssl dgst -sha256 -hmac "s3cret": what ./mtm computes
        assertEquals("b1baff9ce49f887a8df31ff0bee454aa2486e82a8640e77c8ad36c07b6ca4f07",
                DatabasePassword.derive("s3cret", "mtmuser"));
    }

    @Test
    public void differsBySecretAndUserAndNeedsASecret() {
        assertNotEquals(DatabasePassword.derive("s3cret", "mtmuser"), DatabasePassword.derive("s3cret2", "mtmuser"));
        assertNotEquals(DatabasePassword.derive("s3cret", "mtmuser"), DatabasePassword.derive("s3cret", "other"));
        assertThrows(IllegalArgumentException.class, () -> DatabasePassword.derive("", "mtmuser"));
    }
}
