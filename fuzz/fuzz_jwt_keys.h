/*
 * Test keys of the JWT fuzz target (fuzz/fuzz_jwt.c) and of the seed
 * generator (fuzz/mkcorpus.py), which reads them from this file.  Made once
 * with `openssl genpkey` for fuzzing only: they sign nothing else, and
 * nothing trusts them.
 */
#ifndef P11S_FUZZ_JWT_KEYS_H
#define P11S_FUZZ_JWT_KEYS_H

/* P-256 (ES256) */
static const char fuzz_key_p256[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgd/Nv35Ciot0ltwe7\n"
    "Wa2xTxXp9A97DQ1YgBUbRiSvpq2hRANCAASjDlgGxAVtXQ1KflMx/2c/dmzjRZpy\n"
    "4FFacg1Te5QQjDl29EAaQCfD17avWFAN8nmJy2ATJfDa94pYZseNestN\n"
    "-----END PRIVATE KEY-----\n";

/* RSA-2048 (RS256) */
static const char fuzz_key_rsa2048[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDlufUNSE00x1HD\n"
    "kTQFKY5pzKu7HVuhLp1jD2t1Sar7Ty34UiUIP3CwinKuP5R8BEoKguyoj3MqN0Ka\n"
    "NlQQ77v5imSZEvGbCeNMAXECYLpjT/Awz4ioVazwVYCPt1TipPH1rGrDljYOesgJ\n"
    "lY0+/wDBGKaP5sGu7Q14yfDb7J7DB/7lxA5yriOjEMvxaBQiCj7IBHkSgdlIcgMk\n"
    "aans8g+7urNOG3JK+ds1icMNsGxdK4BDD5mYEYTNlEPrR0exlDAxLk3kRtIRb2Uq\n"
    "VpyBC4xDOByUxDLEm8yHf8KAq6zp8/cqEH13FY1w1LPWVlbTaNvA166TwtxLgwN8\n"
    "FainrtQZAgMBAAECggEADuWI2jhkx0Ygi3O8QZRxB3PN9AeClFhjPNP4ZiXliD/Z\n"
    "bYeYHqmMe2oy5xE45fTaP0W/pmuM7oEgWMMqnuGI2TTr8pArqh/RRTG3vA19MKjz\n"
    "nJqslCvgF8KXoFolT0Aeb42ja7TvIu+7zoFL5DiheiQI0v6F8zuserdvnrdAkUlx\n"
    "PFb7/szj9dxDW7pIChqjo3GvQejjCPIRWC/QqDRvmq/pKGyRV8a/noC/pcErIC3i\n"
    "dqRYEczWiL8Kof1IOuX3oW8vW3sL9DOeCtLtF8vhhDkTMzAny9jn1SpZbMzKVWip\n"
    "EkKpyyZ1Fp95pMqbQnRXxN0Zqjjz1k+m9L87i19I7QKBgQD4eU9+bKMcq9zmkOdK\n"
    "5bh5lWMJIWU8AC9ATvXvyhlBTeqR4cf+ZPiE9MrhIYNDJsfpMjewTQx6tAE6kowL\n"
    "io/tmXR3T+rV6bVwgnnp8y2RsAnLe6z//H+s+33p0Bget8D5J7fA8cGY8XSYIPC1\n"
    "spqGyFRUWjwLcCgGbYMQu8k3rQKBgQDsr0btMijrirbTtmUuO6GG5+KHO8jADNgT\n"
    "X3Man1rfnqaXFF0a3/X1RK8mr1yAOLkAC6EYpatt2a+/YvJuPsTbZPiDor9DNP1d\n"
    "AgqidP1zJtnWIntFZTNZejIXoV5AR7wkZrC9+k/MnVcljn9schO6iTrO33KKuRSF\n"
    "6RuW0NhLnQKBgDQHWuDzKJiJWEEjWHszbRRwdoNj7cnJlBtYLWFfpTgqc5LGf1VC\n"
    "mVNl2tGXbd/yz+uBq22MRK+w34z/QLnt8sNi3aNaJadTP73mZFbbp9AY14Q3Sntz\n"
    "yNxU8QGzpElSWuMRMQYC2XIIJUzxoNW7J2ZPrnDXUDlo68ikx8wKNlElAoGBAMC7\n"
    "rl8CpI3BpEVcVqJCTrNjanTC+yNgkiecZ0e7ki1crL2ECJkU3N2/83zl+cYz6nod\n"
    "/i3q4mEOje2kblPV60nYvAG9alAY+2RcgDpwV98IOQUFiSomUZ1AQ0A42F4xzAQ8\n"
    "VxoslgTB7zAXDK5LasNQckH5dPV/5zVwcFXsdOWFAoGBAK2ukXI1kmjDK7V7HK9B\n"
    "+svO2R7QpkSsXbbSPTk/DhZvU2zeyTFrcO+cjkVKAPGpj1D42gcuByY9E1bymsw1\n"
    "cfcDN68Xf4ur4Du5CMzjfQ4ZSCH60EcCYgx0UDGnn/uZOj+m5dzthh5jM9dZuvCH\n"
    "Lv40fok91o0qIV6j/riCMjMp\n"
    "-----END PRIVATE KEY-----\n";

#endif
